import { describeRefreshSecretsContract } from '../contracts/refresh-secrets.contract.js';
import { describeTokenSignerContract } from '../contracts/token-signer.contract.js';
import { FakeRefreshSecrets, FakeSigner } from '../support/fakes.js';

// The use-case tests trust these fakes to behave as the real adapters do.
describeTokenSignerContract('FakeSigner', async (clock, expiresInSeconds) => new FakeSigner(clock, expiresInSeconds));
describeRefreshSecretsContract('FakeRefreshSecrets', () => new FakeRefreshSecrets());
