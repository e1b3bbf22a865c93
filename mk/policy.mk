# Version policy and maintenance window (daemon/policy, internal/window).
# Their unit tables and fuzz seeds run in `make unit`; `make fuzz` runs these longer.
EXTRA_FUZZ += ./daemon/policy:FuzzMake
EXTRA_FUZZ += ./internal/window:FuzzWindow
