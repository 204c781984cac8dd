/**
 * The conformance suite's own assertions (spec/conformance/expect.ts): each matcher passes on
 * what chai's would pass, and fails, with the caller's message, on what chai's would fail.
 */
import { AssertionError } from 'node:assert';
import { expect as chai } from 'chai';
import { expect } from './conformance/expect';

function fails(assertion: () => void): AssertionError {
  try {
    assertion();
  } catch (error) {
    chai(error).to.be.an.instanceOf(AssertionError);
    return error as AssertionError;
  }
  return chai.fail('the assertion passed');
}

class Base {}
class Derived extends Base {}

describe('conformance assertions (chainstore/testing needs no chai)', function () {
  it('equal compares with ===, and deep.equal by structure', function () {
    expect(1).to.equal(1);
    expect({ a: [1, { b: null }] }).to.deep.equal({ a: [1, { b: null }] });
    expect(Object.assign(Object.create(null), { a: 1 }), 'prototypes are not compared').to.deep.equal({ a: 1 });
    expect(Number.NaN).to.deep.equal(Number.NaN);
    fails(() => expect({ a: 1 }).to.equal({ a: 1 }));
    fails(() => expect({ a: 1 }).to.deep.equal({ a: 1, b: undefined }));
    fails(() => expect([1, 2]).to.deep.equal([2, 1]));
    fails(() => expect([1]).to.deep.equal({ 0: 1 }));
    fails(() => expect(-0).to.deep.equal(0));
    fails(() => expect(new Date(1)).to.deep.equal(new Date(2)));
    fails(() => expect(Buffer.from('ab')).to.deep.equal(Buffer.from('ac')));
  });

  it('a failure carries the message, and actual and expected for a diff', function () {
    const error = fails(() => expect({ height: 2 }, 'block').to.deep.equal({ height: 1 }));
    chai(error.message).to.include('block: expected { height: 2 } to deeply equal { height: 1 }');
    chai(error.actual).to.deep.equal({ height: 2 });
    chai(error.expected).to.deep.equal({ height: 1 });
  });

  it('members compares in any order, as many times each; deep.members by structure', function () {
    expect(['a', 'b', 'b']).to.have.members(['b', 'a', 'b']);
    expect([{ id: 1 }, { id: 2 }]).to.have.deep.members([{ id: 2 }, { id: 1 }]);
    fails(() => expect(['a', 'b']).to.have.members(['a']));
    fails(() => expect(['a', 'a']).to.have.members(['a', 'b']));
    fails(() => expect([{ id: 1 }]).to.have.members([{ id: 1 }]));
    fails(() => expect('ab').to.have.members(['a', 'b']));
  });

  it('include finds a substring, a member, properties, or a subset of members', function () {
    expect('not a field: x').to.include('not a field');
    expect([1, 2]).to.include(2);
    expect({ id: 'm', data: { title: 't' }, score: 1 }).to.deep.include({ id: 'm', data: { title: 't' } });
    expect(['a', 'b', 'c']).to.include.members(['c', 'a']);
    fails(() => expect('abc').to.include('d'));
    fails(() => expect({ data: { title: 't' } }).to.include({ data: { title: 't' } }));
    fails(() => expect({ id: 'm' }).to.deep.include({ id: 'm', score: 1 }));
    fails(() => expect(['a']).to.include.members(['a', 'b']));
    fails(() => expect(7).to.include(7));
  });

  it('a / an check type names as chai names them, and an.instanceOf the class chain', function () {
    expect(true).to.be.a('boolean');
    expect([]).to.be.an('array');
    expect({}).to.be.an('object');
    expect(new Derived()).to.be.an.instanceOf(Base);
    fails(() => expect([]).to.be.an('object'));
    fails(() => expect(null).to.be.an('object'));
    fails(() => expect(new Base()).to.be.an.instanceOf(Derived));
  });

  it('length, satisfy, greaterThan and below', function () {
    expect([1, 2]).to.have.length(2);
    expect('path.x').to.satisfy((value: string) => value.startsWith('path'));
    expect(2).to.be.greaterThan(1);
    expect(1).to.be.below(2);
    fails(() => expect([1]).to.have.length(2));
    fails(() => expect('x').to.satisfy((value: string) => value.startsWith('path')));
    fails(() => expect(1).to.be.greaterThan(1));
    fails(() => expect(2).to.be.below(2));
    fails(() => expect('1').to.be.below(2));
  });

  it('expect.fail fails with the message', function () {
    chai(fails(() => expect.fail('the feed ended after 2 of 3 events')).message).to.equal('the feed ended after 2 of 3 events');
  });
});
