// A real OpenID Connect provider (the npm package oidc-provider) on a free loopback port, for the tests.
//
//   node provider.mjs <config.json>
//
// The config file holds the one client ({client_id, client_secret, redirect_uris}) and the users
// ({sub, username, password, name, email, groups}); it is read again at every sign-in, so a test may
// move a user to other groups between two sign-ins, as an administrator of the company's directory
// would. The provider prints one JSON line {"issuer": ...} once it listens. Its sign-in page checks
// the user's password; "Cancel" answers the client with error=access_denied.
import http from 'node:http';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const configPath = process.argv[2];
const read = () => JSON.parse(readFileSync(configPath, 'utf8'));

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, uid, message) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Company sign-in</title></head>
<body><h1>Company directory sign-in</h1>${message ? `<p id="problem">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input name="login" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<p><a id="cancel" href="/interaction/${escape(uid)}/abort">Cancel</a></p></body></html>`);
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const { client } = read();
  const provider = new Provider(issuer, {
    clients: [{
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    pkce: { required: () => true }, // a client that forgets PKCE is refused
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['oidc-peer-test-only'] },
    async findAccount(ctx, sub) {
      const user = read().users.find((candidate) => candidate.sub === sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub, name: user.name, preferred_username: user.username, email: user.email, groups: user.groups,
          };
        },
      };
    },
    // The company's own application: no consent screen, every scope it asks for is granted.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();

  server.on('request', async (req, res) => {
    const found = /^\/interaction\/([\w-]+)(\/login|\/abort)?$/.exec(new URL(req.url, issuer).pathname);
    if (!found) {
      handle(req, res);
      return;
    }
    const [, uid, action] = found;
    try {
      if (!action && req.method === 'GET') {
        await provider.interactionDetails(req, res);
        page(res, 200, uid);
      } else if (action === '/abort') {
        await provider.interactionFinished(req, res, {
          error: 'access_denied', error_description: 'End-User aborted interaction',
        }, { mergeWithLastSubmission: false });
      } else if (action === '/login' && req.method === 'POST') {
        await provider.interactionDetails(req, res);
        const form = await body(req);
        const user = read().users.find((candidate) => candidate.username === form.get('login'));
        if (!user || user.password !== form.get('password')) {
          page(res, 401, uid, 'Wrong login or password.');
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, {
          mergeWithLastSubmission: false,
        });
      } else {
        res.writeHead(405).end();
      }
    } catch (error) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`interaction failed: ${error.message}`);
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
