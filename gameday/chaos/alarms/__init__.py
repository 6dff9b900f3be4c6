"""CloudWatch alarms of the stack: wait for one to change state (chaostoolkit-aws reads them)."""
