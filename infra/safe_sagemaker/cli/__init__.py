"""``safe-sagemaker``: command-line tools for the people who run the stacks (see the README)."""
