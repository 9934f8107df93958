"""Customer-base model machinery behind :mod:`rfm_loyalty.btyd`: likelihoods and fitting."""
