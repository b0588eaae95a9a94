"""The `foxplug` command line: the parser and commands, the console, `dev`, `top` and the scaffold."""
