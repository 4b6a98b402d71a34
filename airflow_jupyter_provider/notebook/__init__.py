"""What papermill is told: parameters, options, and what a failed run left in the notebook."""
