"""The `keras-boxloss` command: one entry point, one module per subcommand."""
