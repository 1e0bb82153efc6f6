import * as IpNum from 'ip-num';

/** ip-num, through one accessor (the one place that imports it). */
export function ipNum(): typeof IpNum {
  return IpNum;
}

export type IPv4 = IpNum.IPv4;
export type IPv6 = IpNum.IPv6;
