#!/usr/bin/env python3
# Generates alerts_test.yml: for every alert, one scenario where it fires
# (with its exact labels and annotations) and one where it does not.
import os, re
import yaml
HERE = os.path.dirname(os.path.abspath(__file__))
rules = {r['alert']: r for g in yaml.safe_load(open(os.path.join(HERE, 'alerts.yml')))['groups'] for r in g['rules']}
I = {'instance': 'twenty:9787', 'job': 'twenty-upgraded'}
def sel(name, extra=None):
    lab = dict(I); lab.update(extra or {})
    return name + '{' + ','.join(f'{k}="{v}"' for k, v in lab.items()) + '}'
def ann(alert, labels):
    out = {}
    for k, v in rules[alert]['annotations'].items():
        out[k] = re.sub(r'\{\{ \$labels\.(\w+) \}\}', lambda m: labels.get(m.group(1), ''), v)
    return out
def firing(alert, extra_labels):
    labels = dict(extra_labels); labels['severity'] = rules[alert]['labels']['severity']
    return [{'exp_labels': labels, 'exp_annotations': ann(alert, labels)}]
D = 1440  # minutes in a day
tests, slow_tests = [], []
def case(name, series, evals, interval='1m', slow=False):
    (slow_tests if slow else tests).append({'name': name, 'interval': interval, 'input_series': [{'series': s, 'values': v} for s, v in series],
                  'alert_rule_test': [{'eval_time': t, 'alertname': a, 'exp_alerts': e} for t, a, e in evals]})
# failed / rolled back: counter rises → fires for a day, then resolves; no rise → silent
for alert, result in [('TwentyUpgradeFailed', 'failed'), ('TwentyUpgradeRolledBack', 'rolled_back')]:
    s = sel('twenty_upgraded_upgrades_total', {'result': result})
    case(f'{alert} fires after a {result} transaction and resolves after a day',
         [(s, '0x10 1x1500')],
         [('20m', alert, firing(alert, {**I, 'result': result})), ('5m', alert, []), ('26h', alert, [])])
    case(f'{alert} is silent when the counter only restarts at the same value',
         [(s, '3x30'), (sel('twenty_upgraded_upgrades_total', {'result': 'success'}), '0x10 1x20')],
         [('30m', alert, [])])
a = 'TwentyRollbackFailed'
case('rollback failed fires at once and stays',
     [(sel('twenty_upgraded_rollback_failed'), '0 0 1x100')],
     [('1m', a, []), ('5m', a, firing(a, I)), ('90m', a, firing(a, I))])
a = 'TwentyUpgradeTooLong'
case('an upgrade running over 3h fires; a 2h one does not',
     [(sel('twenty_upgraded_upgrade_in_progress'), '1x200 0x100'),
      (sel('twenty_upgraded_upgrade_in_progress', {'instance': 'other:9787'}), '1x120 0x200')],
     [('2h', a, []), ('190m', a, firing(a, I)), ('250m', a, [])])
a = 'TwentyUpdateNotInstalled'
case('an update available for 14 days fires; one installed on day 10 does not',
     [(sel('twenty_upgraded_update_available'), '1x400'),
      (sel('twenty_upgraded_update_available', {'instance': 'other:9787'}), '1x240 0x160')],
     [('13d', a, []), ('15d', a, firing(a, I))], interval='1h', slow=True)
a = 'TwentyReleaseChecksFailing'
case('checks failing for 7h with no success fires; one failure amid successes does not',
     [(sel('twenty_upgraded_check_errors_total'), '0+1x600'),
      (sel('twenty_upgraded_last_check_timestamp_seconds'), '0x600'),
      (sel('twenty_upgraded_check_errors_total', {'instance': 'other:9787'}), '0x100 1x500'),
      (sel('twenty_upgraded_last_check_timestamp_seconds', {'instance': 'other:9787'}), '0+60x600')],
     [('30m', a, []), ('8h', a, firing(a, I))])
a = 'TwentyBackupTooOld'
case('a backup 46 days old fires; a fresh one and none known do not',
     [(sel('twenty_upgraded_last_backup_timestamp_seconds'), '0x1200'),  # 0 = none known: silent
      (sel('twenty_upgraded_last_backup_timestamp_seconds', {'instance': 'old:9787'}), '1x1200'),
      (sel('twenty_upgraded_last_backup_timestamp_seconds', {'instance': 'fresh:9787'}), '3888000x1200')],
     [('46d', a, firing(a, {**I, 'instance': 'old:9787'})), ('1d', a, [])], interval='1h', slow=True)
a = 'TwentyUpgradedDown'
case('down for 10 minutes fires; a short blip does not',
     [('up{instance="twenty:9787",job="twenty-upgraded"}', '1 1 0x15'),
      ('up{instance="other:9787",job="twenty-upgraded"}', '1 0 0 1x15')],
     [('5m', a, []), ('14m', a, firing(a, I))])
a = 'TwentyUpgradedAbsent'
case('no twenty-upgraded target at all fires after 30 minutes',
     [('up{instance="node:9100",job="node"}', '1x60')],
     [('10m', a, []), ('40m', a, firing(a, {'job': 'twenty-upgraded'}))])
case('a scraped twenty-upgraded is not absent',
     [('up{instance="twenty:9787",job="twenty-upgraded"}', '1x60')],
     [('40m', a, [])])
a = 'TwentyNotificationsFailing'
case('a failed notification fires for 6 hours; sent ones do not',
     [(sel('twenty_upgraded_notifications_total', {'event': 'rolled_back', 'result': 'failed'}), '0x10 1x500'),
      (sel('twenty_upgraded_notifications_total', {'event': 'rolled_back', 'result': 'sent'}), '0x10 1x500'),
      (sel('twenty_upgraded_notifications_total', {'instance': 'other:9787', 'event': 'succeeded', 'result': 'sent'}), '0+1x510')],
     [('5m', a, []), ('20m', a, firing(a, {**I, 'event': 'rolled_back'})), ('7h', a, [])])
missing = set(rules) - {t['alert_rule_test'][0]['alertname'] for t in tests + slow_tests}
assert not missing, missing
# Alerts that span days are evaluated hourly (their samples are hourly too,
# so no evaluation sees a stale series); the rest every minute.
for fname, ev, ts in [('alerts_test.yml', '1m', tests), ('alerts_days_test.yml', '1h', slow_tests)]:
  doc = {'rule_files': ['alerts.yml'], 'evaluation_interval': ev, 'tests': ts}
  with open(os.path.join(HERE, fname), 'w') as f:
    f.write('# promtool test rules (make test runs it).\n'
            '# Every alert fires in one scenario and stays silent in another. Annotations are\n'
            '# compared exactly: after editing alerts.yml, regenerate with\n'
            '#   python3 contrib/prometheus/gen_alerts_test.py\n')
    yaml.safe_dump(doc, f, sort_keys=False, width=1000, allow_unicode=True)
