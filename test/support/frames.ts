// Frames captured from real peers (iputils arping 20221126 and ndisc6 1.0.7 on
// Linux 6.18) with the addon, used as ground truth for the codecs.

/** arping from 02:00:00:00:00:0b / 192.0.2.100 asking for 192.0.2.10. */
export const ARPING_REQUEST = Buffer.from(
  'ffffffffffff02000000000b0806000108000604000102000000000bc0000264ffffffffffffc000020a', 'hex');

/** ndisc6 from fe80::ff:fe00:b asking for 2001:db8::10 (to its solicited-node group). */
export const NDISC6_SOLICITATION = Buffer.from(
  '3333ff00001002000000000b86dd6009f23300203afffe80000000000000000000fffe00000bff0200000000000000000001ff00001087004c2f0000000020010db8000000000000000000000010010102000000000b',
  'hex');

export const CLIENT_MAC = Buffer.from('02000000000b', 'hex');
export const OUR_MAC = Buffer.from('02000000000a', 'hex');

/** iputils ping (20221126) from 02:00:00:00:00:0b / 192.0.2.100 to 192.0.2.10, -s 16. */
export const PING_REQUEST = Buffer.from(
  '02000000000a02000000000b08004500002c21a04000400194c2c0000264c000020a080001545dab00011d0e096b000000006d86050000000000', 'hex');

/** iputils ping -6 from 2001:db8::100 to 2001:db8::10, -s 16. */
export const PING6_REQUEST = Buffer.from(
  '02000000000a02000000000b86dd600b59a000183a4020010db800000000000000000000010020010db800000000000000000000001080003d6f5dac00011e0e096b000000005b95050000000000',
  'hex');
