import { performance } from 'node:perf_hooks';
import { Agent } from '../agent/agent.js';
import { DEFAULT_COORDINATION, validateCoordinationSettings } from '../core/l2/coordination-settings.js';
import { KubeTransport } from '../kube/transport.js';
import { createLogger } from '../log.js';
import { LinkInventory } from '../net/link-inventory.js';
import { UsageError, type Command } from './command.js';
import { loadKubeConfig } from './kubeconfig.js';
import { commonSettings, parse, parseSettings, settingsHelp } from './settings.js';

/** Every flag of this command; the Helm chart's values.schema.json has one entry per flag (tools/gen-chart-schema.ts). */
export const agentSettings = {
  ...commonSettings(9964),
  'node-name': { description: 'this node\'s Node name ($NODE_NAME in a DaemonSet)', default: process.env.NODE_NAME ?? '', parse: parse.string },
  namespace: { description: 'namespace of the node and cilium-l2announce-* Leases', default: 'kube-system', parse: parse.string },
  'hello-interval': { description: 'how often this agent sends a liveness hello to each of its two monitors on each link', default: DEFAULT_COORDINATION.helloIntervalMs, parse: parse.duration },
  'suspect-after': { description: 'a node unheard this long on a link is suspected (with the probe timeout, bounds crash failover)', default: DEFAULT_COORDINATION.suspectAfterMs, parse: parse.duration },
  'probe-timeout': { description: 'how long a helper waits for a suspect to answer its probe', default: DEFAULT_COORDINATION.probeTimeoutMs, parse: parse.duration },
  'burst-rounds': { description: 'gratuitous ARP / unsolicited NA rounds when a node starts answering', default: DEFAULT_COORDINATION.burstRounds, parse: parse.positiveInt },
  'burst-interval': { description: 'time between those rounds', default: DEFAULT_COORDINATION.burstIntervalMs, parse: parse.duration },
  'load-balancer-classes': { description: 'loadBalancerClass values announced besides unset (comma list)', default: ['io.cilium/l2-announcer'], parse: parse.list },
  'external-ips-must-be-in-pool': { description: 'announce spec.externalIPs only inside some pool (false = Cilium\'s behaviour)', default: true, parse: parse.boolean },
  'handover-timeout': { description: 'how long SIGTERM waits for handovers to be written', default: 3000, parse: parse.duration },
  'restart-grace': { description: 'SIGTERM while this node stays schedulable and Ready (a rolling update): keep the Services and have peers wait this long for the new agent (0 = always hand over)', default: 10_000, parse: parse.durationOrZero },
};

export const agentCommand: Command = {
  name: 'agent',
  summary: 'answer ARP/NDP for the Services this node announces (one node per address)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(`usage: herald agent --node-name NODE [flags]\n\n${settingsHelp(agentSettings)}`);
      return 0;
    }
    const s = parseSettings(agentSettings, argv, process.env);
    if (!s['node-name']) throw new UsageError('--node-name (or $NODE_NAME) is required');
    const coordination = {
      ...DEFAULT_COORDINATION,
      helloIntervalMs: s['hello-interval'], suspectAfterMs: s['suspect-after'], probeTimeoutMs: s['probe-timeout'],
      confirmTimeoutMs: Math.max(DEFAULT_COORDINATION.confirmTimeoutMs, s['probe-timeout'] + s['hello-interval']),
      burstRounds: s['burst-rounds'], burstIntervalMs: s['burst-interval'],
    };
    const problems = validateCoordinationSettings(coordination);
    if (problems.length > 0) throw new UsageError(problems.join('; '));
    const log = createLogger(s['log-level']).child({ component: 'agent', node: s['node-name'] });
    const transport = new KubeTransport(loadKubeConfig(s.kubeconfig || undefined));
    const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    const links = await LinkInventory.start({ debounceMs: 10 });
    links.on('problem', (err) => { log.warn({ err }, 'reading links failed'); });
    try {
      const agent = new Agent({
        transport, clock: () => performance.now(), links, log,
        settings: {
          nodeName: s['node-name'], namespace: s.namespace, coordination,
          loadBalancerClasses: s['load-balancer-classes'], externalIPsMustBeInPool: s['external-ips-must-be-in-pool'],
          healthAddress: s['health-address'], healthPort: s['health-port'], handoverTimeoutMs: s['handover-timeout'],
          restartGraceMs: s['restart-grace'],
        },
      });
      const port = await agent.start();
      log.info({ healthPort: port }, 'herald agent started');
      const signal = await stopRequested;
      log.info({ signal }, 'stopping');
      await agent.stop();
      log.info('herald agent stopped');
    } finally {
      links.close();
      transport.close();
    }
    return 0;
  },
};
