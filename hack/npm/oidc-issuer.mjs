// A real OIDC issuer for tests (pkg/testenv.StartOIDCIssuer) (oidc-provider, in-memory adapter: tests only).
// Env: PORT (required), KEY_FILE (PKCS#8 PEM of the RS256 signing key), KID (its key id).
// Client credentials: test-client / test-secret. Access tokens are RS256 JWTs with aud "gateway",
// or aud "other" when requested with resource=urn:other.
import Provider from 'oidc-provider';
import * as jose from 'jose';
import { readFileSync } from 'node:fs';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const pem = readFileSync(process.env.KEY_FILE, 'utf8');
const key = await jose.importPKCS8(pem, 'RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(key)), kid: process.env.KID || 'k1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  clients: [{ client_id: 'test-client', client_secret: 'test-secret', grant_types: ['client_credentials'],
              response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' }],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => 'urn:gateway',
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => ({
        scope: 'read write',
        audience: resource === 'urn:other' ? 'other' : 'gateway',
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`issuer ${issuer} ready`));
process.on('SIGTERM', () => process.exit(0));
