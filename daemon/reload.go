package daemon

import (
	"errors"
	"fmt"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// Reload re-reads the config (SIGHUP): RELOADING=1, load, rebuild the
// checker, engine and window, re-read the API token, rebuild the notifier
// from [notify] (its URLs file read again), READY=1. A bad new
// config is logged and returned and the old one stays in force. A running
// transaction keeps the engine it started with. daemon.listen and
// daemon.state_dir need a restart.
func (d *Daemon) Reload() error {
	d.send(sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec())
	defer d.send(sd.SdNotifyReady)
	if d.deps.LoadConfig == nil {
		return errors.New("reload: no config loader")
	}
	cfg, err := d.deps.LoadConfig()
	if err == nil {
		old, _ := d.config()
		if cfg.Daemon.Listen != old.Daemon.Listen || cfg.Daemon.StateDir != old.Daemon.StateDir {
			d.log.Warn("daemon.listen and daemon.state_dir change only on restart (systemctl restart twenty-upgraded)")
		}
		err = d.apply(cfg)
	}
	if err != nil {
		err = fmt.Errorf("reload: %w; the old config stays in force", err)
		d.log.Error("config reload failed", "err", err)
		d.setStatus(d.idleStatus("config reload failed, old config kept"))
		return err
	}
	d.log.Info("config reloaded", "path", cfg.Path)
	d.CheckNow()
	return nil
}
