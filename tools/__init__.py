"""Tools for developing and testing STDS that are never shipped: no Lambda bundle and no image holds them."""
