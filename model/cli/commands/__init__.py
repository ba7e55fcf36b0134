"""One module per ``capex`` command; each ``cmd_*`` function is a thin layer over the library."""
