# Helpers for the maintainer scripts. `make package` puts this file in front
# of each deb-* and rpm-* script (a package script cannot source a file that
# is not installed yet).
# Every systemctl call is guarded: in a chroot, a container or an image build
# there is no running systemd, and a package script must not fail there.
unit=twenty-upgraded.service

systemd_running() {
	[ -d /run/systemd/system ]
}

make_backup_dir() {
	# backup.dir must exist: the unit's ReadWritePaths= skips a missing one,
	# and then the daemon could not create it under ProtectSystem=strict.
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		systemd-tmpfiles --create twenty-upgraded.conf >/dev/null 2>&1 || true
	fi
	[ -d /var/backups/twenty-upgraded ] || install -d -m 0700 /var/backups/twenty-upgraded
}

daemon_reload() {
	if systemd_running; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
}

try_restart() {
	# Restart only if it was running. A running step finishes first
	# (TimeoutStopSec, daemon.stop_grace); the daemon resumes on start.
	if systemd_running; then systemctl try-restart "$unit" >/dev/null 2>&1 || true; fi
}

stop_and_disable() {
	if systemd_running; then systemctl stop "$unit" >/dev/null 2>&1 || true; fi
	# Works offline too (it only removes the enablement symlinks).
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --no-reload disable "$unit" >/dev/null 2>&1 || true
	fi
}

first_install_message() {
	cat <<'MSG'
twenty-upgraded is installed but not started. To use it:
  1. edit /etc/twenty-upgraded/config.toml (install.dir, release, window, backup)
  2. check it:   twenty-upgraded validate
  3. start it:   systemctl enable --now twenty-upgraded
See /usr/share/doc/twenty-upgraded/install.md and twenty-upgraded(1).
MSG
}
