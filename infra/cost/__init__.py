"""`stds cost`: what running STDS on AWS costs per month, from published prices kept in one data file."""
