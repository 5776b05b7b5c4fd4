// FileLinks: an image's URL is signed once per expiry window and reused within it; a new
// window or another public URL gives a new one, always what signing afresh gives.
import { UrlSigner } from '../../src/blobs';
import { FileLinks } from '../../src/blobs/file-links';

const signer = new UrlSigner({ secrets: ['s'.repeat(40)] });
const T = Date.UTC(2026, 11, 4, 12, 0, 0);

describe('FileLinks', () => {
  test('the same key in one 5-minute window gets the same URL, and it is what a fresh FileLinks signs', () => {
    const links = new FileLinks(signer, () => 'http://api.test');
    const first = links.url('garments/t/g1', T + 1_000);
    expect(links.url('garments/t/g1', T + 200_000)).toBe(first);
    expect(new FileLinks(signer, () => 'http://api.test').url('garments/t/g1', T + 200_000)).toBe(first);
    expect(links.url('garments/t/g2', T + 1_000)).not.toBe(first);
    expect(first).toMatch(/^http:\/\/api\.test\/files\/garments\/t\/g1\?exp=\d+&sig=/);
  });

  test('a new window or a new public URL signs again', () => {
    let base = 'http://a.test';
    const links = new FileLinks(signer, () => base);
    const early = links.url('k/1', T + 1_000);
    const later = links.url('k/1', T + 301_000);
    expect(later).not.toBe(early);
    expect(new URL(later).searchParams.get('exp')).toBe(String((T + 60 * 60_000 + 10 * 60_000) / 1000));
    base = 'http://b.test';
    expect(links.url('k/1', T + 301_000)).toBe(later.replace('http://a.test', 'http://b.test'));
  });
});
