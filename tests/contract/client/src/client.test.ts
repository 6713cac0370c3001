// The client a developer in another language would generate: the types come
// from the live server's /openapi.json (openapi-typescript, see run.sh) and
// every call goes through openapi-fetch, so a field the document does not
// describe fails the type-check (tsc --noEmit) before anything runs.
// A passage is submitted, its receipt and inclusion proof are read and the
// proof is checked against the signed checkpoint's root (RFC 9162, 2.1.3.2),
// the record and the day's statistics are read back, and a bad record comes
// back as the typed 422 error naming its field.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import createClient from 'openapi-fetch';
import type { components, paths } from '../generated/api.js';

type Passage = components['schemas']['PassageRecord'];
type ApiError = components['schemas']['Error'];

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/contract/client/run.sh`);
  return value;
}

const baseUrl = required('CORRIDOR_URL');
const client = (token?: string) =>
  createClient<paths>({ baseUrl, headers: token ? { Authorization: `Bearer ${token}` } : {} });
const observer = client(required('CORRIDOR_OBSERVER_TOKEN'));
const analyst = client(required('CORRIDOR_ANALYST_TOKEN'));
const anyone = client();

// A day the demo data has no passages on, so the statistics are this test's alone.
const DAY = '2023-02-10';
const SITE = 'lachin-road';

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** The root an RFC 9162 inclusion proof leads to from a leaf hash. */
function rootFromProof(leafIndex: number, treeSize: number, leafHash: Buffer, proof: string[]): Buffer {
  assert.ok(leafIndex < treeSize, `leaf ${leafIndex} is not in a tree of ${treeSize}`);
  let fn = leafIndex;
  let sn = treeSize - 1;
  let root = leafHash;
  for (const element of proof) {
    assert.notEqual(sn, 0, 'the proof is longer than the tree is deep');
    const sibling = Buffer.from(element, 'base64');
    if (fn % 2 === 1 || fn === sn) {
      root = sha256(Buffer.from([1]), sibling, root);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      root = sha256(Buffer.from([1]), root, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  assert.equal(sn, 0, 'the proof is shorter than the tree is deep');
  return root;
}

/** The tree size and root hash a signed checkpoint (C2SP tlog-checkpoint) states. */
function checkpointBody(checkpoint: string): { size: number; root: Buffer } {
  const [, size, root] = checkpoint.split('\n');
  assert.ok(size && root, `not a checkpoint: ${checkpoint}`);
  return { size: Number(size), root: Buffer.from(root, 'base64') };
}

async function vehiclesOn(day: string): Promise<number> {
  const { data, error } = await anyone.GET('/api/v1/stats', {
    params: { query: { from: day, to: day, site: SITE } },
  });
  assert.equal(error, undefined, JSON.stringify(error));
  // The route answers JSON or CSV; without format it is JSON.
  assert.ok(data && typeof data === 'object', `not JSON: ${String(data)}`);
  return data.totals.vehicles ?? 0;
}

test('a passage is stored, proven, read back and counted', async () => {
  const before = await vehiclesOn(DAY);
  const id = `ts-client-${randomBytes(6).toString('hex')}`;
  const passage: Passage = {
    type: 'passage',
    id,
    site: SITE,
    observed_at: `${DAY}T10:30`,
    category: 'red_cross',
    count: 3,
    direction: 'inbound',
    source: { kind: 'direct_observation', name: 'Contract client' },
    recorded_by: 'ts-client',
  };

  const submitted = await observer.POST('/api/v1/records', {
    params: { query: { wait: true } },
    body: passage,
  });
  assert.equal(submitted.response.status, 201, JSON.stringify(submitted.error));
  assert.ok(submitted.data);
  assert.equal(submitted.data.stored, 1);
  const [stored] = submitted.data.receipts;
  assert.ok(stored);
  assert.equal(stored.id, id);
  assert.equal(stored.status, 'stored');

  const receipt = await observer.GET('/api/v1/receipts/{id}', { params: { path: { id } } });
  assert.equal(receipt.response.status, 200, JSON.stringify(receipt.error));
  assert.ok(receipt.data);
  assert.equal(receipt.data.status, 'integrated', 'wait=true waited for the checkpoint');
  assert.equal(receipt.data.leaf_index, stored.leaf_index);
  const { leaf, leaf_hash, proof, tree_size, checkpoint } = receipt.data;
  assert.ok(leaf && leaf_hash && proof && tree_size && checkpoint, JSON.stringify(receipt.data));
  const leafHash = sha256(Buffer.from([0]), Buffer.from(leaf, 'utf8'));
  assert.equal(leafHash.toString('base64'), leaf_hash, 'the leaf hash is the hash of the leaf');
  const signed = checkpointBody(checkpoint);
  assert.equal(signed.size, tree_size);
  assert.deepEqual(
    rootFromProof(receipt.data.leaf_index, tree_size, leafHash, proof),
    signed.root,
    'the inclusion proof leads to the checkpoint root',
  );

  const inclusion = await anyone.GET('/api/v1/proofs/inclusion', {
    params: { query: { record: id } },
  });
  assert.equal(inclusion.response.status, 200, JSON.stringify(inclusion.error));
  assert.ok(inclusion.data);
  const latest = checkpointBody(inclusion.data.checkpoint);
  assert.deepEqual(
    rootFromProof(inclusion.data.leaf_index, inclusion.data.tree_size, leafHash, inclusion.data.proof),
    latest.root,
    'the public inclusion proof verifies too',
  );

  const record = await analyst.GET('/api/v1/records/{id}', { params: { path: { id } } });
  assert.equal(record.response.status, 200, JSON.stringify(record.error));
  assert.ok(record.data);
  assert.equal(record.data.leaf_index, stored.leaf_index);
  assert.equal(record.data.leaf.record.id, id);
  assert.equal(record.data.leaf.record.type, 'passage');
  assert.deepEqual(JSON.parse(leaf), record.data.leaf, 'the receipt proves the record read back');

  assert.equal(await vehiclesOn(DAY), before + 3, "the day's statistics count the passage");
});

test('a bad record is refused with a typed error naming its field', async () => {
  const bad = {
    type: 'passage',
    id: `ts-client-bad-${randomBytes(6).toString('hex')}`,
    site: SITE,
    observed_at: '2023-13-01',
    category: 'civilian',
    source: { kind: 'direct_observation', name: 'Contract client' },
    recorded_by: 'ts-client',
  } satisfies Passage;

  const { data, error, response } = await observer.POST('/api/v1/records', { body: bad });
  assert.equal(response.status, 422);
  assert.equal(data, undefined);
  assert.ok(error);
  const problem: ApiError = error;
  assert.equal(problem.error.status, 422);
  const [first] = problem.error.errors ?? [];
  assert.ok(first, JSON.stringify(problem));
  assert.equal(first.index, 0);
  assert.equal(first.id, bad.id);
  assert.equal(first.field, 'observed_at');
  assert.match(first.reason, /2023-13-01/);
});
