"""Where failures land and who hears of them: two queues, three alarms and one topic for the whole stack.

- `failed`: every function's on-failure destination. Lambda retries an async invocation (an EventBridge rule
  or SNS subscription delivery) twice, keeps a throttled one up to its maximum event age, and then sends
  the event here with the error, instead of dropping it.
- `undelivered`: the dead-letter queue of every rule target and subscription (EventBridge or SNS could not
  hand the event to Lambda at all).
- the streamer-lag alarm: the streamer's own BarsDelivered metric stayed below 1 for 5 minutes.

The counts do not grow with the strategies (an alarm is $0.10 a month); `stds dlq list|redrive` reads both
queues through the stack's outputs.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.aws.delivered_bars_metric import DIMENSION, METRIC_NAME, NAMESPACE
from infra.aws.stack_outputs import ALARM_TOPIC_OUTPUT, FAILED_OUTPUT, UNDELIVERED_OUTPUT


class Watch(Construct):
    def __init__(self, scope: Construct, id_: str, *, prefix: str, alarm_email: str | None) -> None:
        super().__init__(scope, id_)
        self.prefix = prefix
        self.topic = sns.Topic(self, "Alarms", topic_name=f"{prefix}alarms", enforce_ssl=True)
        NagSuppressions.add_resource_suppressions(
            self.topic,
            [
                NagPackSuppression(
                    id="AwsSolutions-SNS2",
                    reason="CloudWatch alarms cannot publish to a topic under the AWS managed SNS key, and a "
                    "customer key costs more than the alarms; alarm notices carry no secret",
                )
            ],
        )
        # enforce_ssl gives the topic a policy of its own, which replaces the default one that let the
        # account's alarms publish: allow this account's CloudWatch alarms again, explicitly
        stack = Stack.of(self)
        alarms = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarms},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.failed = self._queue("FailedInvocations", "events a function failed on after Lambda's retries")
        self.undelivered = self._queue("Undelivered", "events the bus could not hand to a function")
        CfnOutput(self, "Failed", key=FAILED_OUTPUT, value=self.failed.queue_url)
        CfnOutput(self, "UndeliveredUrl", key=UNDELIVERED_OUTPUT, value=self.undelivered.queue_url)
        CfnOutput(self, "AlarmTopic", key=ALARM_TOPIC_OUTPUT, value=self.topic.topic_arn)
        lag = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=METRIC_NAME,
            dimensions_map={DIMENSION: prefix},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        self._alarm(
            "StreamerLag",
            "streamer lag: no bar delivered for 5 minutes",
            lag,
            cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            cloudwatch.TreatMissingData.BREACHING,
        )

    def allow_bus(self, service: str, source_arn: str) -> None:
        """One statement for every rule of the bus (or subscription of the topic), not one per rule: a queue
        policy has a size limit that a per-strategy statement would reach."""
        self.undelivered.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"],
                resources=[self.undelivered.queue_arn],
                principals=[iam.ServicePrincipal(service)],
                conditions={"ArnLike": {"aws:SourceArn": source_arn}},
            )
        )

    def alarm_on_any(self, id_: str, description: str, metric: cloudwatch.IMetric) -> None:
        """One more alarm on the stack's topic: any datapoint of 1 or more (none is fine)."""
        self._alarm(
            id_,
            description,
            metric,
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _queue(self, id_: str, what: str) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            id_,
            retention_period=Duration.days(14),
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        depth = queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5))
        self.alarm_on_any(f"{id_}Depth", f"{what} (stds dlq list)", depth)
        return queue

    def _alarm(
        self,
        id_: str,
        description: str,
        metric: cloudwatch.IMetric,
        comparison: cloudwatch.ComparisonOperator,
        missing: cloudwatch.TreatMissingData,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            id_,
            alarm_name=f"{self.prefix}{id_}",
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
