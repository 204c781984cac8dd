/**
 * Dispatch cost: a cached generic call against a direct call of the same handler, each in a
 * loop of its own (its own monomorphic call site), warmed up, best of several rounds; the
 * miss path (the first call with a class never seen); the argument checks a `query` generic
 * adds on top; and Python's functools.singledispatch on the same class shape, the reference
 * users know.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { generic } from '../../lib';
import { bestOf, now, round } from '../support/measure';
import type { Section } from '../support/report';

class Base {
  constructor(readonly weight: number) {}
}
class Leaf extends Base {}

/** The handler both sides call: cheap, but with a result the loop must keep. */
function handler(target: Base, x: number): number {
  return (x + target.weight) | 0;
}
const dispatched = generic<(target: Base, x: number) => number>('bench.dispatched');
dispatched.register(Base, handler);

const CALLS = 20_000_000;
const ROUNDS = 7;

// One function per side: each call site sees one callee and one class.
function directLoop(target: Base, calls: number): number {
  let acc = 0;
  for (let i = 0; i < calls; i += 1) acc = handler(target, acc);
  return acc;
}
function genericLoop(target: Base, calls: number): number {
  let acc = 0;
  for (let i = 0; i < calls; i += 1) acc = dispatched(target, acc);
  return acc;
}

function nsPerCall(loop: (target: Base, calls: number) => number, target: Base): number {
  const start = now();
  const result = loop(target, CALLS);
  const elapsed = now() - start;
  if (result === 0.5) console.log('impossible'); // keeps the result alive
  return elapsed / CALLS;
}

/** First calls: each with a class no call has seen before (a miss of every cache). */
function missNs(classes: number): number {
  const fresh = Array.from({ length: classes }, () => new (class extends Leaf {})(1));
  let acc = 0;
  const start = now();
  for (const target of fresh) acc = dispatched(target, acc);
  const elapsed = now() - start;
  if (acc === 0.5) console.log('impossible');
  return elapsed / classes;
}

interface PythonResult {
  direct_ns: number;
  dispatch_ns: number;
  miss_ns: number;
  version: string;
}

function python(): PythonResult | string {
  try {
    const out = execFileSync('python3', [join(__dirname, '..', 'singledispatch.py')], { encoding: 'utf8', timeout: 300_000 });
    return JSON.parse(out) as PythonResult;
  } catch (error) {
    return `python3 could not run the reference (${(error as Error).message.split('\n')[0]})`;
  }
}

export async function dispatchSection(): Promise<Section> {
  const target = new Leaf(1);
  // Warm-up: let the optimizing compiler see both loops before timing them.
  for (let i = 0; i < 3; i += 1) {
    directLoop(target, 1_000_000);
    genericLoop(target, 1_000_000);
  }
  const direct = await bestOf(ROUNDS, () => nsPerCall(directLoop, target));
  const viaGeneric = await bestOf(ROUNDS, () => nsPerCall(genericLoop, target));
  const miss = await bestOf(3, () => missNs(10_000));
  const overhead = Math.max(0, viaGeneric - direct);

  const rows: Section['rows'] = [
    { call: 'direct call of the handler', language: 'TypeScript (V8)', 'ns/call': round(direct), 'over direct (ns)': 0 },
    { call: 'generic, cached (monomorphic call site)', language: 'TypeScript (V8)', 'ns/call': round(viaGeneric), 'over direct (ns)': round(overhead) },
    { call: 'generic, first call for a new class (miss)', language: 'TypeScript (V8)', 'ns/call': round(miss), 'over direct (ns)': round(miss - direct) },
  ];
  const notes: string[] = [];
  const py = python();
  if (typeof py === 'string') {
    notes.push(py);
  } else {
    rows.push(
      { call: 'direct call of the handler', language: `Python ${py.version}`, 'ns/call': round(py.direct_ns), 'over direct (ns)': 0 },
      { call: 'functools.singledispatch, cached', language: `Python ${py.version}`, 'ns/call': round(py.dispatch_ns), 'over direct (ns)': round(py.dispatch_ns - py.direct_ns) },
      { call: 'functools.singledispatch, new class (miss)', language: `Python ${py.version}`, 'ns/call': round(py.miss_ns), 'over direct (ns)': round(py.miss_ns - py.direct_ns) },
    );
  }
  notes.push(
    'The generic finds its handler in a symbol-keyed slot on the class prototype: one property load the engine caches per call site, so a warm call costs almost what a direct one does. A miss is V8 learning a new class shape, once per class and call site.',
  );
  return {
    id: 'dispatch',
    title: 'Dispatch',
    method: `${CALLS.toLocaleString('en')} calls per round in a loop of their own, after warm-up; best of ${ROUNDS} rounds. Miss: the first call for each of 10,000 new subclasses.`,
    columns: ['call', 'language', 'ns/call', 'over direct (ns)'],
    rows,
    targets: [{ name: 'dispatch overhead over a direct call', value: round(overhead, 2), kind: 'max', bound: 1, unit: ' ns' }],
    notes,
  };
}
