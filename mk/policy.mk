# Version policy and maintenance window (daemon/policy, daemon/window).
# Their unit tables and fuzz seeds run in `make unit`; `make fuzz` runs these longer.
EXTRA_FUZZ += ./daemon/policy:FuzzMake
EXTRA_FUZZ += ./daemon/window:FuzzWindow
