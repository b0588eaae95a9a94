"""What the engine measures of its plugins: metrics and their exposition, reports, alerts."""
