import { hostname } from 'node:os';
import { validateElectionTimings } from '../kube/leader-elector.js';
import { createLogger } from '../log.js';
import { Operator } from '../operator/operator.js';
import { UsageError, type Command } from './command.js';
import { loadKubeConfig } from './kubeconfig.js';
import { commonSettings, parse, parseSettings, settingsHelp } from './settings.js';

/** Every flag of this command; the Helm chart's values.schema.json has one entry per flag (tools/gen-chart-schema.ts). */
export const operatorSettings = {
  ...commonSettings(9963),
  namespace: { description: 'namespace of the leader-election Lease', default: 'kube-system', parse: parse.string },
  identity: { description: 'this replica\'s name in the Lease; $POD_NAME when set, else the host name', default: process.env.POD_NAME ?? hostname(), parse: parse.string },
  'lease-duration': { description: 'how long a silent leader keeps the lease', default: 15_000, parse: parse.duration },
  'renew-deadline': { description: 'a leader that has not renewed for this long steps down', default: 10_000, parse: parse.duration },
  'retry-period': { description: 'how often to renew or try to acquire the lease', default: 2_000, parse: parse.duration },
  'load-balancer-classes': { description: 'loadBalancerClass values served besides unset (comma list)', default: ['io.cilium/l2-announcer'], parse: parse.list },
  'write-concurrency': { description: 'status writes in flight at once', default: 32, parse: parse.positiveInt },
  resync: { description: 'how often every status is re-checked against the allocator', default: 300_000, parse: parse.duration },
};

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'give LoadBalancer Services addresses from CiliumLoadBalancerIPPools (LB-IPAM)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(`usage: herald operator [flags]\n\n${settingsHelp(operatorSettings)}`);
      return 0;
    }
    const s = parseSettings(operatorSettings, argv, process.env);
    const timings = { leaseDurationMs: s['lease-duration'], renewDeadlineMs: s['renew-deadline'], retryPeriodMs: s['retry-period'] };
    const problem = validateElectionTimings(timings);
    if (problem) throw new UsageError(problem);
    const log = createLogger(s['log-level']).child({ component: 'operator', identity: s.identity });
    const operator = new Operator(loadKubeConfig(s.kubeconfig || undefined), {
      namespace: s.namespace,
      identity: s.identity,
      ...timings,
      loadBalancerClasses: s['load-balancer-classes'],
      healthAddress: s['health-address'],
      healthPort: s['health-port'],
      writeConcurrency: s['write-concurrency'],
      resyncMs: s.resync,
    }, log);
    const port = await operator.start();
    log.info({ healthPort: port }, 'herald operator started');
    await new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        log.info({ signal }, 'stopping: handing leadership over');
        resolve();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
    await operator.stop();
    log.info('herald operator stopped');
    return 0;
  },
};
