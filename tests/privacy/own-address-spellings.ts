// Spellings of an address, written independently of src/privacy (which must
// find them all), and a check that a text holds none of them.

/** "2001:db8::1" → its eight groups as numbers (an IPv4 tail allowed). */
function groupsOf(v6: string): number[] {
  let text = v6;
  const tail = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const o = tail[1]!.split('.').map(Number);
    text = `${text.slice(0, tail.index)}:${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [left, right] = text.includes('::') ? text.split('::') : [text, undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const fill = right === undefined ? [] : new Array<string>(8 - l.length - r.length).fill('0');
  return [...l, ...fill, ...r].map((g) => parseInt(g, 16));
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** Every spelling of `ip` a server or a log might use. */
export function spellingsOf(ip: string): string[] {
  if (!ip.includes(':')) {
    const o = ip.split('.').map(Number);
    const hi = ((o[0]! << 8) | o[1]!).toString(16);
    const lo = ((o[2]! << 8) | o[3]!).toString(16);
    return [
      ip,
      o.map((x) => String(x).padStart(3, '0')).join('.'),
      o.join('-'),
      o.join('_'),
      [...o].reverse().join('.'),
      [...o].reverse().join('-'),
      `::ffff:${ip}`,
      `::FFFF:${hi.toUpperCase()}:${lo.toUpperCase()}`,
      `::ffff:${hi}:${lo}`,
      `0:0:0:0:0:ffff:${ip}`,
      `64:ff9b::${hi}:${lo}`,
      `2002:${hex4(parseInt(hi, 16))}:${hex4(parseInt(lo, 16))}::1`,
    ];
  }
  const g = groupsOf(ip);
  const compressed = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return [compressed, compressed.toUpperCase(), g.map(hex4).join(':'), g.map((x) => x.toString(16)).join(':'), g.map(hex4).join(':').toUpperCase()];
}

/** Does `text` hold a spelling of `ip`? Digits (hex digits for IPv6) may not continue it on either side. */
export function holdsSpelling(text: string, ip: string): string | null {
  for (const spelling of spellingsOf(ip)) {
    const escaped = spelling.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const edge = spelling.includes(':') ? '0-9A-Fa-f' : '0-9';
    if (new RegExp(`(?<![${edge}])${escaped}(?![${edge}])`, spelling.includes(':') ? 'i' : '').test(text)) return spelling;
  }
  return null;
}
