"""What the tests share: page objects, helpers, dates relative to today (nothing here is a test)."""
