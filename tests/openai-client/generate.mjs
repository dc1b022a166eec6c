// The official `openai` npm client, unchanged but for its base URL, generates an image through cutover.
// usage: node generate.mjs http://127.0.0.1:PORT/v1 [b64_json|url]
// Prints "ok <bytes>" and exits 0 when an image came back as b64_json (a PNG), or, asked for `url`, when the signed
// URL it got serves a PNG to a plain GET (no key); exits 1 with why otherwise.
import OpenAI from 'openai';

const baseURL = process.argv[2];
const format = process.argv[3] || 'b64_json';
if (!baseURL) {
  console.error('usage: node generate.mjs BASE_URL');
  process.exit(2);
}

const fail = (why) => {
  console.error(`openai client: ${why}`);
  process.exit(1);
};

// The key is whatever the engine accepts (none on loopback without auth.keys_file); the client insists on one.
const client = new OpenAI({ apiKey: process.env.CUTOVER_API_KEY || 'no-key-needed', baseURL, maxRetries: 0, timeout: 60_000 });

let answer;
try {
  answer = await client.images.generate({
    model: 'gpt-image-1',
    prompt: 'a red kite over a green hill',
    n: 1,
    size: '1024x1024',
    response_format: format,
    user: 'npm-client-user',
  });
} catch (e) {
  fail(`images.generate threw: ${e?.status ?? ''} ${e?.message ?? e}`);
}

if (!answer || !Array.isArray(answer.data)) fail(`no data array in ${JSON.stringify(answer)?.slice(0, 300)}`);
if (answer.data.length !== 1) fail(`expected 1 image, got ${answer.data.length}`);
if (typeof answer.created !== 'number') fail(`created is not a number: ${JSON.stringify(answer.created)}`);
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
let bytes;
if (format === 'url') {
  const url = answer.data[0].url;
  if (typeof url !== 'string' || url.length === 0) fail(`data[0].url is not a non-empty string: ${JSON.stringify(answer.data[0])?.slice(0, 300)}`);
  if (answer.data[0].b64_json !== undefined) fail('data[0] has b64_json although url was asked for');
  // relative unless server.public_url is set: it is then relative to the engine's own address
  const res = await fetch(new URL(url, baseURL));
  if (res.status !== 200) fail(`GET ${url} answered ${res.status}`);
  bytes = Buffer.from(await res.arrayBuffer());
} else {
  const b64 = answer.data[0].b64_json;
  if (typeof b64 !== 'string' || b64.length === 0) fail(`data[0].b64_json is not a non-empty string: ${JSON.stringify(answer.data[0])?.slice(0, 300)}`);
  bytes = Buffer.from(b64, 'base64');
}
if (bytes.length < png.length || !bytes.subarray(0, png.length).equals(png)) fail(`the image (${format}) is not a PNG`);
console.log(`ok ${bytes.length}`);
