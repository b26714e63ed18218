"""The Lambda functions and layers the constructs deploy, one folder each.

Not imported at run time: this marker makes the folder the package `safe_sagemaker.lambdas`
(pyproject.toml maps it), so an installed wheel carries the code as package data and
`lambda_folder()` finds it beside the library."""
