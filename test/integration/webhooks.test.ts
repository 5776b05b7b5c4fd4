// Webhooks: managing endpoints (every refusal, tenant isolation), and deliveries to a real
// receiver on 127.0.0.1: signing, retries, final failure, redirects, timeouts, removal.
// Deliveries run on a WebhookService built here on the test server's database with an
// in-process queue and short backoff, so retries take milliseconds. Last, fairness: endpoints
// that hang hold at most their tenant's share of the delivery slots (in-process and BullMQ).
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createApiKey, createTenant, gql, ok } from '../support/graphql-client';
import { InProcessJobQueue } from '../../src/jobs/in-process-queue';
import { BullMqJobQueue } from '../../src/jobs/bullmq-queue';
import type { JobQueue } from '../../src/jobs/job-queue';
import { WebhookRepository } from '../../src/webhooks/webhook-repository';
import { verifyWebhookSignature, WebhookSecrets, WebhookService, type WebhookServiceOptions } from '../../src/webhooks/webhook-service';
import { fromGlobalId, toGlobalId } from '../../src/common/ids';

interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a route answers to its n-th request (1-based): a status, or 'hang' to never answer. */
type Behaviour = (n: number) => number | 'hang';

/** An HTTP server standing in for a tenant's endpoint: records every request, answers per route. */
class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly routes = new Map<string, Behaviour>();
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | null = null;
  private base = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const n = this.requests.filter((r) => r.path === path).length + 1;
        this.requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const answer = (this.routes.get(path) ?? (() => 200))(n);
        if (answer === 'hang') {
          this.hanging.add(res);
          return;
        }
        if (answer >= 300 && answer < 400) res.setHeader('location', `${this.base}/redirected`);
        res.statusCode = answer;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** A fresh URL on this receiver answering with `behaviour`. */
  route(name: string, behaviour: Behaviour = () => 200): string {
    const path = `/hooks/${name}`;
    this.routes.set(path, behaviour);
    return `${this.base}${path}`;
  }

  received(url: string): ReceivedRequest[] {
    const path = new URL(url).pathname;
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ADD = `mutation($i: AddWebhookEndpointInput!) {
  addWebhookEndpoint(input: $i) { endpoint { id url events createdAt } secret userErrors { code field message } }
}`;
const REMOVE = `mutation($id: ID!) { removeWebhookEndpoint(id: $id) { endpoint { id url } userErrors { code field } } }`;
const ENDPOINTS = `query($after: String) { webhookEndpoints(first: 100, after: $after) { totalCount edges { node { id url events } } } }`;
const DELIVERIES = `query($e: ID, $s: WebhookDeliveryStatus) {
  webhookDeliveries(first: 100, endpointId: $e, status: $s) {
    totalCount
    edges { node { id event status payload attempts lastStatusCode lastError createdAt lastAttemptAt deliveredAt endpoint { id url } } }
  }
}`;

interface DeliveryNode {
  id: string;
  event: string;
  status: string;
  payload: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  endpoint: { id: string; url: string };
}

interface TestTenant {
  /** The raw tenant id, as jobs and notify() take it. */
  id: string;
  adminKey: string;
}

describe.each(databaseKinds())('webhooks on %s', (kind) => {
  // Known, so this file can derive what the server derives (the secret returned by addWebhookEndpoint).
  const serverSecret = randomBytes(32).toString('base64url');
  const ATTEMPTS = 4;
  let server: TestServer;
  let url: string;
  const receiver = new Receiver();
  const queues: InProcessJobQueue[] = [];
  let webhooks: WebhookService;

  /** A WebhookService on the test server's database with its own in-process queue. */
  function deliveryService(options: WebhookServiceOptions, process = true): WebhookService {
    const queue = new InProcessJobQueue();
    queues.push(queue);
    // The receiver listens on 127.0.0.1: private networks are allowed here (the guard has its own tests).
    const service = new WebhookService(new WebhookRepository(server.db), queue, new WebhookSecrets([serverSecret]), {
      allowPrivateNetworks: true,
      ...options,
    });
    if (process) service.processDeliveries();
    return service;
  }

  /** Each test that delivers gets its own tenant, so no other test's endpoint listens. */
  async function newTenant(name = 'Hooked'): Promise<TestTenant> {
    const created = await createTenant(url, name);
    return { id: fromGlobalId(created.id, 'Tenant')!, adminKey: created.adminKey };
  }

  beforeAll(async () => {
    server = await startTestServer(kind, { ATELIER_SECRETS: serverSecret, ATELIER_WEBHOOK_PRIVATE_NETWORKS: 'true' });
    url = server.url;
    await receiver.start();
    webhooks = deliveryService({ attempts: ATTEMPTS, backoffMs: 20, fetchTimeoutMs: 2000 });
  });
  afterAll(async () => {
    for (const queue of queues) await queue.close();
    await receiver.close();
    await server.stop();
  });

  async function addEndpoint(tenant: TestTenant, endpointUrl: string, events: string[] = ['RENDER_SUCCEEDED']) {
    const data = await ok(url, tenant.adminKey, ADD, { i: { url: endpointUrl, events } });
    expect(data.addWebhookEndpoint.userErrors).toEqual([]);
    return data.addWebhookEndpoint as { endpoint: { id: string; url: string; events: string[] }; secret: string };
  }

  async function deliveries(tenant: TestTenant, variables: { e?: string; s?: string } = {}): Promise<DeliveryNode[]> {
    const data = await ok(url, tenant.adminKey, DELIVERIES, variables);
    return data.webhookDeliveries.edges.map((e: { node: DeliveryNode }) => e.node);
  }

  /** The endpoint's only delivery, once it has left PENDING. */
  const settled = (tenant: TestTenant, endpointId: string) =>
    waitFor(`a final delivery to ${endpointId}`, async () => {
      const list = await deliveries(tenant, { e: endpointId });
      return list.length === 1 && list[0]!.status !== 'PENDING' ? list[0]! : null;
    });

  const endpointIds = async (tenant: TestTenant): Promise<string[]> =>
    (await ok(url, tenant.adminKey, ENDPOINTS)).webhookEndpoints.edges.map((e: { node: { id: string } }) => e.node.id);

  const countEndpoints = () => server.db.withSystem((tx) => tx.webhookEndpoint.count());

  test('addWebhookEndpoint returns the endpoint and its signing secret, derived and not stored', async () => {
    const tenant = await newTenant();
    const { endpoint, secret } = await addEndpoint(tenant, receiver.route('added'), [
      'RENDER_SUCCEEDED',
      'RENDER_FAILED',
      'RENDER_SUCCEEDED',
    ]);
    expect(endpoint).toMatchObject({ url: receiver.route('added'), events: ['RENDER_SUCCEEDED', 'RENDER_FAILED'] });
    const uuid = fromGlobalId(endpoint.id, 'WebhookEndpoint');
    expect(uuid).not.toBeNull();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(secret).toBe(new WebhookSecrets([serverSecret]).secretFor(uuid!));
    const row = await server.db.withSystem((tx) => tx.webhookEndpoint.findUniqueOrThrow({ where: { id: uuid! } }));
    expect(JSON.stringify(row)).not.toContain(secret.slice('whsec_'.length));

    expect(await endpointIds(tenant)).toEqual([endpoint.id]);
    const node = await ok(url, tenant.adminKey, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { id url } } }`, {
      id: endpoint.id,
    });
    expect(node.node).toEqual({ id: endpoint.id, url: endpoint.url });
  });

  test('the URL is normalized; http is accepted (development); 2000 characters is the limit', async () => {
    const tenant = await newTenant();
    expect((await addEndpoint(tenant, '  HTTPS://Example.COM  ')).endpoint.url).toBe('https://example.com/');
    expect((await addEndpoint(tenant, 'http://localhost:8080/hook?x=1')).endpoint.url).toBe('http://localhost:8080/hook?x=1');
    const longest = `https://example.com/${'a'.repeat(2000 - 'https://example.com/'.length)}`;
    expect((await addEndpoint(tenant, longest)).endpoint.url).toHaveLength(2000);
  });

  test('each refused input gets its code and writes nothing', async () => {
    const tenant = await newTenant();
    const before = await countEndpoints();
    const cases: [string, string[], string[]][] = [
      ['not a url', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['/relative/path', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['ftp://example.com/hook', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['javascript:alert(1)', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['file:///etc/passwd', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['https://user:pass@example.com/hook', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['https://token@example.com/hook', ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      [`https://example.com/${'a'.repeat(1981)}`, ['RENDER_SUCCEEDED'], ['INVALID_URL']],
      ['https://example.com/hook', [], ['EVENTS_REQUIRED']],
      ['nope', [], ['INVALID_URL', 'EVENTS_REQUIRED']],
    ];
    for (const [endpointUrl, events, codes] of cases) {
      const data = await ok(url, tenant.adminKey, ADD, { i: { url: endpointUrl, events } });
      const { userErrors, endpoint, secret } = data.addWebhookEndpoint;
      expect({ endpointUrl, codes: userErrors.map((e: { code: string }) => e.code), endpoint, secret }).toEqual({
        endpointUrl,
        codes,
        endpoint: null,
        secret: null,
      });
    }
    const both = await ok(url, tenant.adminKey, ADD, { i: { url: 'nope', events: [] } });
    expect(both.addWebhookEndpoint.userErrors).toEqual([
      { code: 'INVALID_URL', field: ['input', 'url'], message: expect.any(String) },
      { code: 'EVENTS_REQUIRED', field: ['input', 'events'], message: expect.any(String) },
    ]);
    expect(await countEndpoints()).toBe(before);
  });

  test('managing webhooks needs an ADMIN key', async () => {
    const tenant = await newTenant();
    const writer = await createApiKey(url, tenant.adminKey, ['CATALOG_WRITE', 'RENDERS_WRITE']);
    const { endpoint } = await addEndpoint(tenant, receiver.route('admin-only'));
    for (const [query, variables] of [
      [ADD, { i: { url: 'https://example.com/x', events: ['RENDER_FAILED'] } }],
      [REMOVE, { id: endpoint.id }],
      [ENDPOINTS, {}],
      [DELIVERIES, {}],
    ] as const) {
      const res = await gql(url, writer, query, variables);
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await gql(url, null, ENDPOINTS)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // node(id:) hides it from a key without ADMIN, like an ID that does not exist
    const node = await ok(url, writer, `query($id: ID!) { node(id: $id) { id } }`, { id: endpoint.id });
    expect(node.node).toBeNull();
    expect(await endpointIds(tenant)).toEqual([endpoint.id]);
  });

  test('removeWebhookEndpoint hides the endpoint; NOT_FOUND for unknown, malformed, removed and foreign IDs', async () => {
    const tenant = await newTenant();
    const other = await newTenant('Other');
    const { endpoint } = await addEndpoint(tenant, receiver.route('to-remove'));
    const foreign = (await addEndpoint(other, receiver.route('foreign'))).endpoint;
    const notFound = { endpoint: null, userErrors: [{ code: 'NOT_FOUND', field: ['id'] }] };

    // another tenant can neither remove nor list nor load it
    expect((await ok(url, other.adminKey, REMOVE, { id: endpoint.id })).removeWebhookEndpoint).toEqual(notFound);
    expect(await endpointIds(other)).toEqual([foreign.id]);
    const otherNode = await ok(url, other.adminKey, `query($id: ID!) { node(id: $id) { id } }`, { id: endpoint.id });
    expect(otherNode.node).toBeNull();

    const removed = await ok(url, tenant.adminKey, REMOVE, { id: endpoint.id });
    expect(removed.removeWebhookEndpoint).toEqual({ endpoint: { id: endpoint.id, url: endpoint.url }, userErrors: [] });
    expect(await endpointIds(tenant)).toEqual([]);

    for (const id of [
      endpoint.id, // already removed
      foreign.id, // another tenant's
      toGlobalId('WebhookEndpoint', '00000000-0000-4000-8000-000000000000'),
      toGlobalId('Garment', fromGlobalId(foreign.id, 'WebhookEndpoint')!),
      'not-an-id',
    ]) {
      const data = await ok(url, tenant.adminKey, REMOVE, { id });
      expect({ id, result: data.removeWebhookEndpoint }).toEqual({ id, result: notFound });
    }
    // the other tenant's endpoint is untouched
    expect(await endpointIds(other)).toEqual([foreign.id]);
  });

  test('a delivery is signed: Atelier-Signature verifies with the endpoint secret, and only with it', async () => {
    const tenant = await newTenant();
    const { endpoint, secret } = await addEndpoint(tenant, receiver.route('signed'), ['RENDER_SUCCEEDED']);
    const notListening = await addEndpoint(tenant, receiver.route('not-listening'), ['RENDER_FAILED']);
    await webhooks.notify(tenant.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjE', durationMs: 1234 });

    const delivery = await settled(tenant, endpoint.id);
    const [request] = receiver.received(endpoint.url);
    expect(request).toBeDefined();
    const { headers, body } = request!;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['atelier-event']).toBe('RENDER_SUCCEEDED');
    expect(headers['atelier-delivery']).toBe(delivery.id);
    expect(body).toBe(delivery.payload);
    expect(JSON.parse(body)).toEqual({
      id: delivery.id,
      event: 'RENDER_SUCCEEDED',
      createdAt: delivery.createdAt,
      data: { renderId: 'UmVuZGVyOjE', durationMs: 1234 },
    });

    const header = headers['atelier-signature'] as string;
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    expect(match).not.toBeNull();
    const t = Number(match![1]);
    const v1 = match![2]!;
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(60);
    // recomputed here, exactly as docs/webhooks.md describes
    expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
    expect(verifyWebhookSignature(secret, header, body)).toBe(true);
    expect(verifyWebhookSignature(secret, header, Buffer.from(body))).toBe(true);
    // another endpoint's secret, a changed body, a stale or future timestamp, a malformed header: refused
    expect(verifyWebhookSignature(notListening.secret, header, body)).toBe(false);
    expect(verifyWebhookSignature(secret, header, body.replace('1234', '1235'))).toBe(false);
    expect(verifyWebhookSignature(secret, header, body, 300, new Date((t + 301) * 1000))).toBe(false);
    expect(verifyWebhookSignature(secret, header, body, 300, new Date((t - 301) * 1000))).toBe(false);
    expect(verifyWebhookSignature(secret, header, body, 300, new Date((t + 299) * 1000))).toBe(true);
    for (const bad of [
      '',
      'garbage',
      `t=${t}`,
      `v1=${v1}`,
      `t=abc,v1=${v1}`,
      `t=${t},v1=${v1.slice(0, 63)}`,
      `t=${t},v1=${v1.toUpperCase()}`,
    ]) {
      expect(verifyWebhookSignature(secret, bad, body)).toBe(false);
    }

    expect(delivery).toMatchObject({
      event: 'RENDER_SUCCEEDED',
      status: 'SUCCEEDED',
      attempts: 1,
      lastStatusCode: 200,
      lastError: null,
      endpoint: { id: endpoint.id, url: endpoint.url },
    });
    expect(delivery.deliveredAt).not.toBeNull();
    expect(delivery.lastAttemptAt).toBe(delivery.deliveredAt);
    // an endpoint not subscribed to the event got nothing
    expect(await deliveries(tenant, { e: notListening.endpoint.id })).toEqual([]);
    expect(receiver.received(notListening.endpoint.url)).toEqual([]);
    // the delivery is a node too
    const node = await ok(
      url,
      tenant.adminKey,
      `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { id status endpoint { id } } } }`,
      { id: delivery.id },
    );
    expect(node.node).toEqual({ id: delivery.id, status: 'SUCCEEDED', endpoint: { id: endpoint.id } });
  });

  test('a receiver answering 500 twice, then 200, gets 3 attempts and the delivery SUCCEEDED', async () => {
    const tenant = await newTenant();
    const { endpoint, secret } = await addEndpoint(
      tenant,
      receiver.route('flaky', (n) => (n <= 2 ? 500 : 200)),
      ['REFERENCE_CACHE_READY'],
    );
    await webhooks.notify(tenant.id, 'REFERENCE_CACHE_READY', { garmentId: 'R2FybWVudDox' });
    const delivery = await settled(tenant, endpoint.id);
    expect(delivery).toMatchObject({ status: 'SUCCEEDED', attempts: 3, lastStatusCode: 200, lastError: null });
    const requests = receiver.received(endpoint.url);
    expect(requests).toHaveLength(3);
    // every attempt carries the same body, freshly signed
    for (const r of requests) {
      expect(r.body).toBe(delivery.payload);
      expect(r.headers['atelier-delivery']).toBe(delivery.id);
      expect(verifyWebhookSignature(secret, r.headers['atelier-signature'] as string, r.body)).toBe(true);
    }
  });

  test('a receiver always answering 500 gets the configured attempts; the delivery ends FAILED', async () => {
    const tenant = await newTenant();
    const { endpoint } = await addEndpoint(
      tenant,
      receiver.route('broken', () => 500),
      ['RENDER_FAILED'],
    );
    await webhooks.notify(tenant.id, 'RENDER_FAILED', { renderId: 'UmVuZGVyOjI', reason: 'out of memory' });
    const delivery = await settled(tenant, endpoint.id);
    expect(delivery).toMatchObject({ status: 'FAILED', attempts: ATTEMPTS, lastStatusCode: 500, lastError: 'HTTP 500', deliveredAt: null });
    expect(delivery.lastAttemptAt).not.toBeNull();
    // no further attempts after the last one
    await sleep(300);
    expect(receiver.received(endpoint.url)).toHaveLength(ATTEMPTS);
    expect((await deliveries(tenant, { s: 'FAILED' })).map((d) => d.id)).toEqual([delivery.id]);
    expect(await deliveries(tenant, { s: 'SUCCEEDED' })).toEqual([]);
  });

  test('redirects are not followed; timeouts and refused connections fail the attempt', async () => {
    const tenant = await newTenant();
    const oneShot = deliveryService({ attempts: 1, fetchTimeoutMs: 300 });
    const redirect = await addEndpoint(
      tenant,
      receiver.route('redirect', () => 302),
      ['REFERENCE_CACHE_FAILED'],
    );
    const slow = await addEndpoint(
      tenant,
      receiver.route('slow', () => 'hang'),
      ['REFERENCE_CACHE_FAILED'],
    );
    // a port that was just free: nothing listens there
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await addEndpoint(tenant, `http://127.0.0.1:${closedPort}/hook`, ['REFERENCE_CACHE_FAILED']);

    await oneShot.notify(tenant.id, 'REFERENCE_CACHE_FAILED', { garmentId: 'R2FybWVudDoy' });

    expect(await settled(tenant, redirect.endpoint.id)).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      lastStatusCode: 302,
      lastError: expect.stringContaining('HTTP 302'),
    });
    expect(receiver.requests.filter((r) => r.path === '/redirected')).toEqual([]);
    expect(await settled(tenant, slow.endpoint.id)).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      lastStatusCode: null,
      lastError: 'timed out after 300 ms',
    });
    const refusedDelivery = await settled(tenant, refused.endpoint.id);
    expect(refusedDelivery).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: null });
    expect(refusedDelivery.lastError).toMatch(/ECONNREFUSED/);
    expect(refusedDelivery.lastError!.length).toBeLessThanOrEqual(200);
    expect(refusedDelivery.lastError).not.toMatch(/\n| at /);
  });

  test('a removed endpoint gets nothing; its delivery log is kept', async () => {
    const tenant = await newTenant();
    const { endpoint } = await addEndpoint(tenant, receiver.route('removed'), ['RENDER_SUCCEEDED']);
    await webhooks.notify(tenant.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjM' });
    const before = await settled(tenant, endpoint.id);
    expect(receiver.received(endpoint.url)).toHaveLength(1);

    await ok(url, tenant.adminKey, REMOVE, { id: endpoint.id });
    await webhooks.notify(tenant.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjQ' });
    await sleep(300);
    expect(receiver.received(endpoint.url)).toHaveLength(1);
    // the log still has the earlier delivery, with its (removed) endpoint, and nothing new
    expect(await deliveries(tenant)).toEqual([before]);
  });

  test('an endpoint removed while its delivery waits: the delivery ends FAILED, nothing is sent', async () => {
    const tenant = await newTenant();
    const paused = deliveryService({ attempts: 3, backoffMs: 20 }, false);
    const { endpoint } = await addEndpoint(tenant, receiver.route('removed-meanwhile'), ['REFERENCE_CACHE_READY']);
    await paused.notify(tenant.id, 'REFERENCE_CACHE_READY', { garmentId: 'R2FybWVudDoz' });
    expect((await deliveries(tenant, { e: endpoint.id })).map((d) => d.status)).toEqual(['PENDING']);
    expect((await deliveries(tenant, { s: 'PENDING' })).map((d) => d.status)).toEqual(['PENDING']);
    await ok(url, tenant.adminKey, REMOVE, { id: endpoint.id });
    paused.processDeliveries();
    expect(await settled(tenant, endpoint.id)).toMatchObject({
      status: 'FAILED',
      attempts: 0,
      lastError: 'endpoint removed',
      lastStatusCode: null,
    });
    expect(receiver.received(endpoint.url)).toEqual([]);
  });

  test('the delivery log is the tenant’s own; a malformed or foreign endpointId matches nothing', async () => {
    const tenant = await newTenant();
    const other = await newTenant('Other');
    const mine = (await addEndpoint(tenant, receiver.route('log-mine'))).endpoint;
    const theirs = (await addEndpoint(other, receiver.route('log-theirs'))).endpoint;
    await webhooks.notify(tenant.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjU' });
    await webhooks.notify(tenant.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjY' });
    await webhooks.notify(other.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjc' });
    const settledAll = (t: TestTenant, n: number) =>
      waitFor(`${n} final deliveries`, async () => {
        const list = await deliveries(t);
        return list.length === n && list.every((d) => d.status === 'SUCCEEDED') ? list : null;
      });
    const myLog = await settledAll(tenant, 2);
    const theirLog = await settledAll(other, 1);
    expect(myLog.map((d) => d.endpoint.id)).toEqual([mine.id, mine.id]);
    expect(theirLog.map((d) => d.endpoint.id)).toEqual([theirs.id]);
    // newest first
    expect(myLog.map((d) => JSON.parse(d.payload).data.renderId)).toEqual(['UmVuZGVyOjY', 'UmVuZGVyOjU']);

    expect(await deliveries(tenant, { e: mine.id })).toHaveLength(2);
    expect(await deliveries(tenant, { e: theirs.id })).toEqual([]);
    expect(await deliveries(tenant, { e: 'not-an-id' })).toEqual([]);
    expect(await deliveries(tenant, { e: myLog[0]!.id })).toEqual([]); // a delivery's ID, not an endpoint's
    const node = await ok(url, tenant.adminKey, `query($id: ID!) { node(id: $id) { id } }`, { id: theirLog[0]!.id });
    expect(node.node).toBeNull();

    const first = await ok(
      url,
      tenant.adminKey,
      `query { webhookDeliveries(first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(first.webhookDeliveries).toMatchObject({
      totalCount: 2,
      edges: [{ node: { id: myLog[0]!.id } }],
      pageInfo: { hasNextPage: true },
    });
    const second = await ok(
      url,
      tenant.adminKey,
      `query($a: String) { webhookDeliveries(first: 1, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }`,
      {
        a: first.webhookDeliveries.pageInfo.endCursor,
      },
    );
    expect(second.webhookDeliveries).toEqual({ edges: [{ node: { id: myLog[1]!.id } }], pageInfo: { hasNextPage: false } });
  });

  test('notify with no endpoint listening writes nothing', async () => {
    const tenant = await newTenant();
    await addEndpoint(tenant, receiver.route('other-event'), ['RENDER_FAILED']);
    await webhooks.notify(tenant.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjg' });
    const quiet = await newTenant('Quiet');
    await webhooks.notify(quiet.id, 'RENDER_SUCCEEDED', { renderId: 'UmVuZGVyOjk' });
    const count = await server.db.withSystem((tx) => tx.webhookDelivery.count({ where: { tenantId: { in: [tenant.id, quiet.id] } } }));
    expect(count).toBe(0);
  });

  test('private networks refused: loopback, private and link-local endpoints cannot be added, and a name resolving to one is never connected to', async () => {
    const tenant = await newTenant();
    const viewer = {
      kind: 'apiKey' as const,
      tenantId: tenant.id,
      apiKeyId: '00000000-0000-4000-8000-000000000000',
      scopes: ['ADMIN' as const],
    };
    const guarded = deliveryService({ attempts: 1, allowPrivateNetworks: false });
    const refusedUrls = [
      'http://127.0.0.1:8080/hook',
      'http://2130706433/hook', // 127.0.0.1 written as one number
      'http://10.0.0.5/hook',
      'http://192.168.1.20/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd00::1]/hook',
      'http://[::7f00:1]/hook', // IPv4-compatible IPv6 of 127.0.0.1
      'http://[::ffff:8.8.8.8]/hook', // IPv4 inside IPv6, even a public one
      'http://[2001:db8::1]/hook', // documentation block inside 2000::/3
    ];
    for (const endpointUrl of refusedUrls) {
      const outcome = await guarded.addEndpoint(viewer, { url: endpointUrl, events: ['REFERENCE_CACHE_READY'] });
      expect(outcome.ok ? endpointUrl : outcome.errors.map((e) => e.code)).toEqual(['INVALID_URL']);
    }
    expect((await guarded.addEndpoint(viewer, { url: 'https://hooks.example.com/atelier', events: ['REFERENCE_CACHE_READY'] })).ok).toBe(
      true,
    );
    expect(
      (await guarded.addEndpoint(viewer, { url: 'https://[2606:4700:4700::1111]/atelier', events: ['REFERENCE_CACHE_READY'] })).ok,
    ).toBe(true);

    // "localhost" is a name, accepted when added; the delivery resolves it and refuses to connect.
    const local = await guarded.addEndpoint(viewer, {
      url: receiver.route('guarded').replace('127.0.0.1', 'localhost'),
      events: ['REFERENCE_CACHE_FAILED'],
    });
    if (!local.ok) throw new Error('localhost endpoint refused when added');
    await guarded.notify(tenant.id, 'REFERENCE_CACHE_FAILED', { garmentId: 'R2FybWVudDoy' });
    const delivery = await settled(tenant, toGlobalId('WebhookEndpoint', local.value.endpoint.id));
    expect(delivery).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: null });
    // A generic reason: nothing says what localhost resolves to.
    expect(delivery.lastError).toBe('address not allowed: the host has no public address');
    expect(receiver.requests.filter((r) => r.path === '/guarded')).toEqual([]);
  });

  test('a tenant has at most maxEndpoints active endpoints (TOO_MANY_ENDPOINTS); removing one makes room', async () => {
    const tenant = await newTenant();
    const viewer = {
      kind: 'apiKey' as const,
      tenantId: tenant.id,
      apiKeyId: '00000000-0000-4000-8000-000000000000',
      scopes: ['ADMIN' as const],
    };
    const capped = deliveryService({ maxEndpoints: 2 }, false);
    const add = (n: number) => capped.addEndpoint(viewer, { url: `https://hooks.example.com/${n}`, events: ['RENDER_SUCCEEDED'] });
    const [first] = await Promise.all([add(1), add(2)]);
    const third = await add(3);
    expect(third.ok ? 'added' : third.errors.map((e) => e.code)).toEqual(['TOO_MANY_ENDPOINTS']);
    if (!first.ok) throw new Error('the first endpoint was refused');
    await capped.removeEndpoint(viewer, first.value.endpoint.id);
    expect((await add(4)).ok).toBe(true);
    expect(await server.db.withSystem((tx) => tx.webhookEndpoint.count({ where: { tenantId: tenant.id, removedAt: null } }))).toBe(2);
  });

  test("the server's own webhooks service delivers (composition root wiring)", async () => {
    const tenant = await newTenant();
    const { endpoint, secret } = await addEndpoint(tenant, receiver.route('server-wired'), ['REFERENCE_CACHE_READY']);
    // The test server runs the API role, whose queue has no consumers: consume deliveries here
    // (replacing the consumer, should the composition root have registered one).
    server.services.webhooks.processDeliveries();
    await server.services.webhooks.notify(tenant.id, 'REFERENCE_CACHE_READY', { garmentId: 'R2FybWVudDo0' });
    const delivery = await settled(tenant, endpoint.id);
    expect(delivery).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    const [request] = receiver.received(endpoint.url);
    expect(verifyWebhookSignature(secret, request!.headers['atelier-signature'] as string, request!.body)).toBe(true);
  });
});

// One tenant's slow endpoints hold at most its share of the delivery slots, on the in-process
// queue and on BullMQ with a real Redis (TEST_REDIS_URL).
const queueDrivers: { name: string; make: () => JobQueue }[] = [
  { name: 'in-process', make: () => new InProcessJobQueue() },
  ...(process.env.TEST_REDIS_URL
    ? [
        {
          name: 'BullMQ',
          make: () =>
            new BullMqJobQueue(process.env.TEST_REDIS_URL!, {
              prefix: `atelier-test-${randomBytes(4).toString('hex')}`,
              groupRetryMs: 100,
            }),
        },
      ]
    : []),
];

describe.each(queueDrivers)('webhook deliveries shared fairly ($name)', ({ make }) => {
  let server: TestServer;
  let queue: JobQueue;
  const receiver = new Receiver();
  beforeAll(async () => {
    server = await startTestServer('pglite', { ATELIER_WEBHOOK_PRIVATE_NETWORKS: 'true' });
    await receiver.start();
    queue = make();
  });
  afterAll(async () => {
    await receiver.close(); // answers the hanging requests, so the queue can close
    await queue.close();
    await server.stop();
  });

  test("a tenant whose endpoints hang does not delay another tenant's delivery", async () => {
    const service = new WebhookService(
      new WebhookRepository(server.db),
      queue,
      new WebhookSecrets([randomBytes(32).toString('base64url')]),
      {
        allowPrivateNetworks: true,
        attempts: 1,
        fetchTimeoutMs: 4_000,
      },
    );
    service.processDeliveries();
    const tenant = async (name: string) => {
      const created = await createTenant(server.url, name);
      const id = fromGlobalId(created.id, 'Tenant')!;
      return {
        id,
        viewer: { kind: 'apiKey' as const, tenantId: id, apiKeyId: '00000000-0000-4000-8000-000000000000', scopes: ['ADMIN' as const] },
      };
    };
    const slow = await tenant('Slow');
    for (let i = 0; i < 4; i += 1)
      await service.addEndpoint(slow.viewer, { url: receiver.route(`hang-${i}`, () => 'hang'), events: ['RENDER_SUCCEEDED'] });
    for (let i = 0; i < 3; i += 1) await service.notify(slow.id, 'RENDER_SUCCEEDED', { n: i });
    // The slow tenant's deliveries are hanging in every slot they may take.
    await waitFor(
      'the slow deliveries to start',
      async () => receiver.requests.filter((r) => r.path.startsWith('/hooks/hang-')).length >= 2,
    );
    const quick = await tenant('Quick');
    const fast = receiver.route('fast');
    await service.addEndpoint(quick.viewer, { url: fast, events: ['RENDER_SUCCEEDED'] });
    const started = Date.now();
    await service.notify(quick.id, 'RENDER_SUCCEEDED', { n: 'quick' });
    await waitFor('the quick delivery', async () => receiver.received(fast).length === 1, 10_000);
    // Well within one hanging attempt (4 s): it did not wait for a slot the slow tenant held.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(receiver.requests.filter((r) => r.path.startsWith('/hooks/hang-')).length).toBe(2);
  });
});
