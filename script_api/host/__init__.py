"""Host-side implementations of the `fox.*` functions declared in `script_api.api`."""
