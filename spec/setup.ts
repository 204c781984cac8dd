/**
 * Loaded by mocha before every spec: promise assertions (`expect(p).to.be.rejectedWith(E)`).
 */
import chai from 'chai';
import chaiAsPromised from 'chai-as-promised';

chai.use(chaiAsPromised);
