"""CLI subcommands that compose several packages (e.g. ``jiubot demo``)."""
