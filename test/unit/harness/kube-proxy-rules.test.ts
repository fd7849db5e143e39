import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rulesForAddress } from '../../../harness/kube-proxy-rules.js';

// From `nft list table ip kube-proxy` of kube-proxy v1.36.3 (nftables mode) in the lab, shortened.
const TABLE = `table ip kube-proxy {
	comment "rules for kube-proxy"
	set hairpin-connections {
		type ipv4_addr . ipv4_addr . inet_proto . inet_service
		comment "service hairpin connections"
		elements = { 203.0.113.18 . 203.0.113.18 . tcp . 80 }
	}

	set cluster-ips {
		type ipv4_addr
		comment "Active ClusterIPs"
		elements = { 198.51.100.1, 198.51.100.218,
			     198.51.100.221 }
	}

	set nodeport-ips {
		type ipv4_addr
		comment "IPs that accept NodePort traffic"
		elements = { 192.0.2.2 }
	}

	map no-endpoint-services {
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "vmap to drop or reject packets to services with no endpoints"
		elements = { 198.51.100.1 . tcp . 443 comment "default/kubernetes:https" : goto reject-chain }
	}

	map no-endpoint-nodeports {
		type inet_proto . inet_service : verdict
		comment "vmap to drop or reject packets to service nodeports with no endpoints"
	}

	map firewall-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "destinations that are subject to LoadBalancerSourceRanges"
	}

	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
		elements = { 198.51.100.218 . tcp . 80 : goto service-LC3LLKZ2-default/app2-service/tcp/,
			     198.51.100.221 . tcp . 80 : goto service-3CEHIB2Z-default/app1-service/tcp/,
			     192.0.2.240 . tcp . 80 : goto external-3CEHIB2Z-default/app1-service/tcp/,
			     192.0.2.241 . tcp . 80 : goto external-LC3LLKZ2-default/app2-service/tcp/ }
	}

	map service-nodeports {
		type inet_proto . inet_service : verdict
		comment "NodePort traffic"
		elements = { tcp . 32024 : goto external-3CEHIB2Z-default/app1-service/tcp/,
			     tcp . 31148 : goto external-LC3LLKZ2-default/app2-service/tcp/ }
	}

	chain services {
		ip daddr @cluster-ips ip saddr != 203.0.113.0/24 meta mark set meta mark | 0x00004000 comment "masquerade clusterIP traffic from outside cluster"
		ip daddr . meta l4proto . th dport vmap @service-ips
		ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
	}

	chain reject-chain {
		comment "helper for @no-endpoint-services / @no-endpoint-nodeports"
		reject
	}

	chain service-3CEHIB2Z-default/app1-service/tcp/ {
		meta l4proto tcp dnat ip to numgen random mod 1 map { 0 : 203.0.113.2 . 80 }
	}

	chain external-3CEHIB2Z-default/app1-service/tcp/ {
		meta mark set meta mark | 0x00004000 comment "masquerade"
		goto service-3CEHIB2Z-default/app1-service/tcp/
	}

	chain service-LC3LLKZ2-default/app2-service/tcp/ {
		meta l4proto tcp dnat ip to numgen random mod 1 map { 0 : 203.0.113.18 . 80 }
	}

	chain external-LC3LLKZ2-default/app2-service/tcp/ {
		meta mark set meta mark | 0x00004000 comment "masquerade"
		goto service-LC3LLKZ2-default/app2-service/tcp/
	}
}`;

describe('rulesForAddress', () => {
  it('gives the map elements keyed by the address and the Service chains they lead to', () => {
    assert.equal(rulesForAddress(TABLE, '192.0.2.240'), [
      'map service-ips:',
      '  192.0.2.240 . tcp . 80 : goto external-3CEHIB2Z-default/app1-service/tcp/',
      'chain external-3CEHIB2Z-default/app1-service/tcp/:',
      '  meta mark set meta mark | 0x00004000 comment "masquerade"',
      '  goto service-3CEHIB2Z-default/app1-service/tcp/',
      'chain service-3CEHIB2Z-default/app1-service/tcp/:',
      '  meta l4proto tcp dnat ip to numgen random mod 1 map { 0 : 203.0.113.2 . 80 }',
    ].join('\n'));
  });

  it('does not take an address for a longer one that starts with it', () => {
    assert.doesNotMatch(rulesForAddress(TABLE, '192.0.2.24'), /192\.0\.2\.24[01]/);
    assert.equal(rulesForAddress(TABLE, '192.0.2.24'), '');
  });

  it('finds elements of sets and maps written over several lines, and leaves shared chains out', () => {
    const r = rulesForAddress(TABLE, '198.51.100.1');
    assert.match(r, /^set cluster-ips:\n  198\.51\.100\.1$/m);
    assert.match(r, /map no-endpoint-services:\n  198\.51\.100\.1 \. tcp \. 443 comment "default\/kubernetes:https" : goto reject-chain/);
    assert.doesNotMatch(r, /chain reject-chain/);
  });
});
