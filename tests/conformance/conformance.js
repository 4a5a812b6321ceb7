// Conformance: drive gcp-emulator with Google's own Node.js clients
// (googleapis + google-auth-library) and check they accept what it serves.
//   node conformance.js /path/to/gcp-emulator
// Starts the emulator on port 0, generates a service-account key, registers
// it, exchanges a JWT for a token, then makes every call dbconnd makes:
// Cloud SQL, Cloud Run, Serverless VPC Access, Compute (global addresses),
// Service Networking, Secret Manager (metadata only) and Resource Manager,
// polling each operation to DONE.
'use strict';

const {spawn} = require('node:child_process');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const readline = require('node:readline');
const {google} = require('googleapis');
const {JWT} = require('google-auth-library');

const PROJECT = 'melodic-now-463704-k1';
const NUMBER = '493827161123';  // the incident seed's project number
const REGION = 'us-central1';
const JOB = `projects/${PROJECT}/locations/${REGION}/jobs/saleor-migration-1751028053`;
const EMAIL = `conformance@${PROJECT}.iam.gserviceaccount.com`;
const DEADLINE_MS = 60_000;

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

function startEmulator(bin) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--listen', '127.0.0.1:0', '--seed', 'incident', '--op-delay', '300ms'],
                        {stdio: ['ignore', 'pipe', 'inherit']});
    const timer = setTimeout(() => reject(new Error('emulator did not start in 10 s')), 10_000);
    child.on('exit', (code) => reject(new Error(`emulator exited early with ${code}`)));
    readline.createInterface({input: child.stdout}).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({child, url: m[1]});
      }
    });
  });
}

async function poll(fn, isDone) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (isDone(v)) return v;
    if (Date.now() - start > DEADLINE_MS) throw new Error('operation did not finish in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const bin = process.argv[2];
  assert.ok(bin, 'usage: node conformance.js /path/to/gcp-emulator');
  const {child, url} = await startEmulator(bin);
  const watchdog = setTimeout(() => {
    console.log('not ok - whole run exceeded its deadline');
    child.kill('SIGTERM');
    process.exit(1);
  }, 2 * DEADLINE_MS);
  try {
    const {publicKey, privateKey} = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: {type: 'spki', format: 'pem'},
      privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
    });
    const reg = await fetch(`${url}/emulator/service-accounts`, {
      method: 'POST',
      body: JSON.stringify({client_email: EMAIL, public_key_pem: publicKey}),
    });
    assert.equal(reg.status, 200);

    const auth = new JWT({email: EMAIL, key: privateKey,
                          scopes: ['https://www.googleapis.com/auth/cloud-platform']});
    // The library has Google's token URL built in; send it to the emulator.
    auth.transporter.interceptors.request.add({
      resolved: async (config) => {
        const u = String(config.url);
        if (u.startsWith('https://oauth2.googleapis.com/token')) config.url = `${url}/token`;
        return config;
      },
    });
    const rootUrl = `${url}/`;
    const sql = google.sqladmin({version: 'v1', auth, rootUrl});
    const run = google.run({version: 'v2', auth, rootUrl});
    const vpcaccess = google.vpcaccess({version: 'v1', auth, rootUrl});
    const compute = google.compute({version: 'v1', auth, rootUrl});
    const servicenetworking = google.servicenetworking({version: 'v1', auth, rootUrl});
    const secretmanager = google.secretmanager({version: 'v1', auth, rootUrl});
    const crm = google.cloudresourcemanager({version: 'v3', auth, rootUrl});

    await check('token exchange with a generated service-account key', async () => {
      const t = await auth.getAccessToken();
      assert.ok(t.token && t.token.length > 10);
    });

    await check('API rejects a missing token with a Google error body', async () => {
      const r = await fetch(`${url}/v1/projects/${PROJECT}/instances/saleor-db-demo`);
      assert.equal(r.status, 401);
      const body = await r.json();
      assert.equal(body.error.status, 'UNAUTHENTICATED');
    });

    let instance;
    await check('sqladmin instances.get', async () => {
      const r = await sql.instances.get({project: PROJECT, instance: 'saleor-db-demo'});
      instance = r.data;
      assert.equal(instance.connectionName, `${PROJECT}:${REGION}:saleor-db-demo`);
      assert.equal(typeof instance.settings.settingsVersion, 'string');
    });

    await check('sqladmin instances.list', async () => {
      const r = await sql.instances.list({project: PROJECT});
      assert.equal(r.data.items.length, 1);
    });

    await check('sqladmin instances.patch + operations.get polling to DONE', async () => {
      const r = await sql.instances.patch({
        project: PROJECT, instance: 'saleor-db-demo',
        requestBody: {settings: {settingsVersion: instance.settings.settingsVersion,
                                 ipConfiguration: {sslMode: 'ENCRYPTED_ONLY'}}},
      });
      assert.equal(r.data.kind, 'sql#operation');
      const done = await poll(
          async () => (await sql.operations.get({project: PROJECT, operation: r.data.name})).data,
          (op) => op.status === 'DONE');
      assert.equal(done.error, undefined);
      const after = (await sql.instances.get({project: PROJECT, instance: 'saleor-db-demo'})).data;
      assert.equal(after.settings.ipConfiguration.sslMode, 'ENCRYPTED_ONLY');
      assert.equal(Number(after.settings.settingsVersion), Number(instance.settings.settingsVersion) + 1);
    });

    await check('sqladmin stale settingsVersion is 412 staleData', async () => {
      await assert.rejects(
          sql.instances.patch({project: PROJECT, instance: 'saleor-db-demo',
                               requestBody: {settings: {settingsVersion: instance.settings.settingsVersion}}}),
          (err) => {
            const status = err.status ?? (err.response && err.response.status);
            const body = JSON.stringify(err.response && err.response.data);
            return status === 412 && body.includes('"reason":"staleData"');
          });
    });

    await check('sqladmin operations.list', async () => {
      const r = await sql.operations.list({project: PROJECT, instance: 'saleor-db-demo'});
      assert.ok(r.data.items.length >= 1);
    });

    let job;
    await check('run jobs.get and jobs.list', async () => {
      job = (await run.projects.locations.jobs.get({name: JOB})).data;
      assert.ok(job.etag);
      const list = await run.projects.locations.jobs.list({parent: `projects/${PROJECT}/locations/${REGION}`});
      assert.equal(list.data.jobs.length, 1);
    });

    await check('run jobs.patch (whole job back) + operations.get polling', async () => {
      const body = JSON.parse(JSON.stringify(job));
      body.labels = {...body.labels, managed: 'dbconnd'};
      const r = await run.projects.locations.jobs.patch({name: JOB, requestBody: body});
      assert.equal(r.data.done, false);
      const done = await poll(
          async () => (await run.projects.locations.operations.get({name: r.data.name})).data,
          (op) => op.done === true);
      assert.equal(done.response['@type'], 'type.googleapis.com/google.cloud.run.v2.Job');
      const after = (await run.projects.locations.jobs.get({name: JOB})).data;
      assert.equal(after.labels.managed, 'dbconnd');
      assert.equal(after.labels.team, 'commerce');
      assert.notEqual(after.etag, job.etag);
    });

    await check('run jobs.run reproduces the incident timeout', async () => {
      const r = await run.projects.locations.jobs.run({name: JOB, requestBody: {}});
      const done = await poll(
          async () => (await run.projects.locations.operations.get({name: r.data.name})).data,
          (op) => op.done === true);
      assert.ok(done.error);
      const exec = (await run.projects.locations.jobs.executions.get({name: done.metadata.name})).data;
      assert.equal(exec.failedCount, 1);
      assert.ok(exec.completionTime);
      assert.match(JSON.stringify(exec.conditions), /connection timeout expired/);
    });

    const LOCATION = `projects/${PROJECT}/locations/${REGION}`;
    await check('vpcaccess connectors.create + operations.get polling, get, list', async () => {
      const r = await vpcaccess.projects.locations.connectors.create({
        parent: LOCATION, connectorId: 'conf-conn',
        requestBody: {network: 'default', ipCidrRange: '10.8.0.0/28', minInstances: 2,
                      maxInstances: 3, machineType: 'e2-micro'}});
      assert.ok(r.data.name);
      const done = await poll(
          async () => (await vpcaccess.projects.locations.operations.get({name: r.data.name})).data,
          (op) => op.done === true);
      assert.ok(!done.error, JSON.stringify(done.error));
      const c = (await vpcaccess.projects.locations.connectors.get(
          {name: `${LOCATION}/connectors/conf-conn`})).data;
      assert.equal(c.state, 'READY');
      assert.equal(c.ipCidrRange, '10.8.0.0/28');
      const list = (await vpcaccess.projects.locations.connectors.list({parent: LOCATION})).data;
      assert.ok(list.connectors.some((x) => x.name === c.name));
    });

    await check('vpcaccess connectors.create of an existing name is 409 ALREADY_EXISTS', async () => {
      await assert.rejects(
          vpcaccess.projects.locations.connectors.create({
            parent: LOCATION, connectorId: 'conf-conn',
            requestBody: {network: 'default', ipCidrRange: '10.8.0.16/28'}}),
          (err) => err.status === 409 && err.response.data.error.status === 'ALREADY_EXISTS');
    });

    const RANGE = 'conf-psa-range';
    await check('compute globalAddresses.insert with requestId, globalOperations.get, get', async () => {
      const body = {name: RANGE, purpose: 'VPC_PEERING', addressType: 'INTERNAL', prefixLength: 16,
                    network: `projects/${PROJECT}/global/networks/default`};
      const requestId = crypto.randomUUID();
      const r = (await compute.globalAddresses.insert({project: PROJECT, requestId, requestBody: body})).data;
      assert.equal(r.kind, 'compute#operation');
      // The same requestId again is the same operation, not a second address.
      const again = (await compute.globalAddresses.insert({project: PROJECT, requestId, requestBody: body})).data;
      assert.equal(again.name, r.name);
      await poll(async () => (await compute.globalOperations.get({project: PROJECT, operation: r.name})).data,
                 (op) => op.status === 'DONE');
      const a = (await compute.globalAddresses.get({project: PROJECT, address: RANGE})).data;
      assert.equal(a.purpose, 'VPC_PEERING');
      assert.equal(a.prefixLength, 16);
      assert.ok(a.address);
    });

    await check('servicenetworking connections.create + operations.get polling, list', async () => {
      const parent = 'services/servicenetworking.googleapis.com';
      const network = `projects/${NUMBER}/global/networks/default`;
      const r = (await servicenetworking.services.connections.create(
          {parent, requestBody: {network, reservedPeeringRanges: [RANGE]}})).data;
      assert.ok(r.name);
      const done = await poll(async () => (await servicenetworking.operations.get({name: r.name})).data,
                              (op) => op.done === true);
      assert.ok(!done.error, JSON.stringify(done.error));
      const list = (await servicenetworking.services.connections.list({parent, network})).data;
      assert.ok(list.connections.some((c) => (c.reservedPeeringRanges || []).includes(RANGE)));
    });

    await check('secretmanager versions.get (metadata only) and secrets.getIamPolicy', async () => {
      const v = (await secretmanager.projects.secrets.versions.get(
          {name: `projects/${PROJECT}/secrets/saleor-db/versions/latest`})).data;
      assert.equal(v.state, 'ENABLED');
      assert.equal(v.payload, undefined);
      const policy = (await secretmanager.projects.secrets.getIamPolicy(
          {resource: `projects/${PROJECT}/secrets/saleor-db`})).data;
      assert.ok(policy.bindings.some((b) => b.role === 'roles/secretmanager.secretAccessor'));
      await assert.rejects(secretmanager.projects.secrets.versions.get(
          {name: `projects/${PROJECT}/secrets/no-such-secret/versions/latest`}),
          (err) => err.status === 404 && err.response.data.error.status === 'NOT_FOUND');
    });

    await check('cloudresourcemanager v3 projects.getIamPolicy', async () => {
      const policy = (await crm.projects.getIamPolicy(
          {resource: `projects/${PROJECT}`, requestBody: {}})).data;
      assert.ok(policy.etag);
      // An empty repeated field is left out of the JSON, as Google does.
      assert.ok(policy.bindings === undefined || Array.isArray(policy.bindings));
    });

    await check('cloudresourcemanager v3 projects.get gives the project number', async () => {
      const project = (await crm.projects.get({name: `projects/${PROJECT}`})).data;
      assert.equal(project.name, `projects/${NUMBER}`);
      assert.equal(project.projectId, PROJECT);
    });

    await check('compute subnetworks.get and list (Direct VPC egress)', async () => {
      const sub = (await compute.subnetworks.get(
          {project: PROJECT, region: REGION, subnetwork: 'default'})).data;
      assert.equal(sub.kind, 'compute#subnetwork');
      assert.match(sub.network, /\/global\/networks\/default$/);
      assert.match(sub.region, new RegExp(`/regions/${REGION}$`));
      assert.ok(sub.ipCidrRange);
      const list = (await compute.subnetworks.list({project: PROJECT, region: REGION})).data;
      assert.ok(list.items.some((x) => x.name === 'default'));
      await assert.rejects(
          compute.subnetworks.get({project: PROJECT, region: REGION, subnetwork: 'no-such-subnet'}),
          (err) => err.status === 404);
    });

    await check('compute PSC endpoint: addresses.insert, forwardingRules.insert, regionOperations.get',
                async () => {
      const cur = (await sql.instances.get({project: PROJECT, instance: 'saleor-db-demo'})).data;
      const p = await sql.instances.patch({
        project: PROJECT, instance: 'saleor-db-demo',
        requestBody: {settings: {settingsVersion: cur.settings.settingsVersion,
                                 ipConfiguration: {pscConfig: {pscEnabled: true,
                                                               allowedConsumerProjects: [PROJECT]}}}},
      });
      await poll(async () => (await sql.operations.get({project: PROJECT, operation: p.data.name})).data,
                 (op) => op.status === 'DONE');
      const inst = (await sql.instances.get({project: PROJECT, instance: 'saleor-db-demo'})).data;
      assert.ok(inst.pscServiceAttachmentLink);
      assert.ok(inst.dnsName);
      const waitRegion = async (op) => poll(
          async () => (await compute.regionOperations.get(
              {project: PROJECT, region: REGION, operation: op.name})).data,
          (o) => o.status === 'DONE');
      const a = (await compute.addresses.insert({
        project: PROJECT, region: REGION, requestId: crypto.randomUUID(),
        requestBody: {name: 'conf-psc-ip', addressType: 'INTERNAL',
                      subnetwork: `projects/${PROJECT}/regions/${REGION}/subnetworks/default`},
      })).data;
      assert.equal(a.kind, 'compute#operation');
      assert.equal((await waitRegion(a)).error, undefined);
      const addr = (await compute.addresses.get({project: PROJECT, region: REGION, address: 'conf-psc-ip'})).data;
      assert.equal(addr.status, 'RESERVED');
      assert.match(addr.address, /^10\.128\./);
      const r = (await compute.forwardingRules.insert({
        project: PROJECT, region: REGION, requestId: crypto.randomUUID(),
        requestBody: {name: 'conf-psc', IPAddress: `projects/${PROJECT}/regions/${REGION}/addresses/conf-psc-ip`,
                      network: `projects/${PROJECT}/global/networks/default`,
                      target: inst.pscServiceAttachmentLink},
      })).data;
      assert.equal((await waitRegion(r)).error, undefined);
      const rule = (await compute.forwardingRules.get(
          {project: PROJECT, region: REGION, forwardingRule: 'conf-psc'})).data;
      assert.equal(rule.IPAddress, addr.address);
      assert.equal(rule.pscConnectionStatus, 'ACCEPTED');
      const list = (await compute.forwardingRules.list({project: PROJECT, region: REGION})).data;
      assert.ok(list.items.some((x) => x.name === 'conf-psc'));
      await assert.rejects(compute.forwardingRules.insert({
        project: PROJECT, region: REGION,
        requestBody: {name: 'conf-psc', IPAddress: 'conf-psc-ip', target: inst.pscServiceAttachmentLink},
      }), (err) => err.status === 409);
    });

    await check('run jobs.patch with a connector and network interfaces is 400 INVALID_ARGUMENT',
                async () => {
      const current = (await run.projects.locations.jobs.get({name: JOB})).data;
      const body = JSON.parse(JSON.stringify(current));
      body.template.template.vpcAccess = {
        connector: `${LOCATION}/connectors/conf-conn`,
        networkInterfaces: [{network: 'default', subnetwork: 'default'}],
        egress: 'PRIVATE_RANGES_ONLY',
      };
      await assert.rejects(run.projects.locations.jobs.patch({name: JOB, requestBody: body}),
                           (err) => err.status === 400 &&
                               err.response.data.error.status === 'INVALID_ARGUMENT');
      // Direct VPC egress alone is accepted.
      body.template.template.vpcAccess = {networkInterfaces: [{network: 'default', subnetwork: 'default'}],
                                 egress: 'PRIVATE_RANGES_ONLY'};
      const r = (await run.projects.locations.jobs.patch({name: JOB, requestBody: body})).data;
      await poll(async () => (await run.projects.locations.operations.get({name: r.name})).data,
                 (op) => op.done === true);
      const after = (await run.projects.locations.jobs.get({name: JOB})).data;
      assert.equal(after.template.template.vpcAccess.networkInterfaces[0].network, 'default');
      assert.equal(after.template.template.vpcAccess.connector, undefined);
    });
  } finally {
    clearTimeout(watchdog);
    child.kill('SIGTERM');
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((err) => {
  console.log(`not ok - setup: ${err && err.stack ? err.stack : err}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
