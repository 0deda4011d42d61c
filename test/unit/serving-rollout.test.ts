import { initBackend } from '../../lib/models/backend';
import type { EvaluationMetrics } from '../../contracts/refs';
import type { RolloutStats } from '../../contracts/rollout';
import { servingFixture, type ServingFixture } from './fixtures/serving';

/** The model server's side of a rollout: canary routing, shadow scoring, the figures the rollout workflow reads, the candidate check. */

const BINARY: EvaluationMetrics = { auc: 0.7, logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: 10 };
const rows = [{ x: 1.5 }, { x: 9 }];
let fixture: ServingFixture;
let good: number;
let broken: number;

beforeAll(async () => {
  await initBackend(undefined, { batchSize: 1 });
  fixture = await servingFixture('late', { column: 'y', greaterThan: 0 }, BINARY);
  good = await fixture.registerVersion();
  broken = await fixture.registerVersion({ broken: true });
});

afterAll(async () => {
  await fixture.close();
});

const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  fixture.server.app.inject({ method, url, ...(payload ? { payload } : {}) });
const predict = () => inject('POST', '/v1/models/late:predict', { instances: rows });
const stats = async (): Promise<RolloutStats> => (await inject('GET', '/admin/rollout/late')).json();

test('the candidate check loads a version and answers a typical instance; a broken one is refused with the reason', async () => {
  const ok = await inject('POST', '/admin/check', { name: 'late', version: good });
  expect(ok.statusCode).toBe(200);
  expect(ok.json()).toMatchObject({ ok: true, version: good, instance: { x: expect.any(Number) } });
  const bad = await inject('POST', '/admin/check', { name: 'late', version: broken });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().error).toMatch(/^row 0 gives no finite prediction/);
  expect((await inject('POST', '/admin/check', { name: 'late', version: 99 })).statusCode).toBe(404);
});

test('canary: the challenger answers its share, both sides are counted, and clearing sends everything back to production', async () => {
  const set = await inject('POST', '/admin/rollout', { name: 'late', version: good, mode: 'canary', share: 1 });
  expect(set.json()).toMatchObject({ active: true, version: good, mode: 'canary' });
  for (let i = 0; i < 10; i++) expect((await predict()).json().model_version).toBe(good);
  // Setting the same rollout again (a retried activity) keeps its figures.
  await inject('POST', '/admin/rollout', { name: 'late', version: good, mode: 'canary', share: 1 });
  expect((await stats()).challenger).toMatchObject({ requests: 10, errors: 0 });
  const last = (await inject('DELETE', '/admin/rollout/late')).json() as RolloutStats;
  expect(last.challenger.requests).toBe(10);
  expect((await predict()).json().model_version).toBe(3);
  expect((await stats()).active).toBe(false);
});

test("canary of a broken version: its share of requests fail as its errors, production's do not", async () => {
  await inject('POST', '/admin/rollout', { name: 'late', version: broken, mode: 'canary', share: 0.5 });
  const codes = await Promise.all(Array.from({ length: 80 }, () => predict().then((r) => r.statusCode)));
  const s = await stats();
  expect(s.challenger.requests + s.production.requests).toBe(80);
  expect(s.challenger.errors).toBe(s.challenger.requests);
  expect(s.production.errors).toBe(0);
  expect(codes.filter((c) => c === 400)).toHaveLength(s.challenger.requests);
  expect(s.challenger.requests).toBeGreaterThan(10);
  expect(s.production.requests).toBeGreaterThan(10);
  await inject('DELETE', '/admin/rollout/late');
});

test('shadow: production answers every request; the challenger scores the same rows and their difference is measured', async () => {
  await inject('POST', '/admin/rollout', { name: 'late', version: good, mode: 'shadow', share: 1 });
  for (let i = 0; i < 5; i++) expect((await predict()).json().model_version).toBe(3);
  await new Promise((r) => setTimeout(r, 50));
  const s = await stats();
  expect(s.mode).toBe('shadow');
  expect(s.production.requests).toBe(5);
  expect(s.challenger.requests).toBe(5);
  expect(s.compared.rows).toBe(10);
  expect(s.compared.meanDifference).toBeGreaterThan(0);
  await inject('DELETE', '/admin/rollout/late');
});

test('a rollout of production itself, of an unknown version, or with a bad share is a 4xx', async () => {
  expect((await inject('POST', '/admin/rollout', { name: 'late', version: 3, mode: 'canary', share: 0.1 })).statusCode).toBe(400);
  expect((await inject('POST', '/admin/rollout', { name: 'late', version: 42, mode: 'canary', share: 0.1 })).statusCode).toBe(404);
  expect((await inject('POST', '/admin/rollout', { name: 'late', version: good, mode: 'canary', share: 2 })).json().error).toBe(
    '"share" must be a number in (0, 1], got 2',
  );
});
