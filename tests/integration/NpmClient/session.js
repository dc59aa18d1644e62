// One fixed session with the etcd3 npm client (1.1.2, on @grpc/grpc-js), printing what it saw, one
// line per step: KV, txn, delete, lease with keep-alive and revoke, a watch, an error. Run against a
// real etcd and a Cairn member by NpmEtcd3ClientTests.cs; the two outputs must be equal.
//   node session.js HOST:PORT
const { Etcd3 } = require('etcd3');
const endpoint = process.argv[2];
const client = new Etcd3({ hosts: endpoint, dialTimeout: 5000 });
const out = [];
const log = (s) => out.push(s);
(async () => {
  try {
    await client.put('npm/a').value('1');
    await client.put('npm/b').value('2');
    log('get a=' + await client.get('npm/a').string());
    log('prefix=' + JSON.stringify(await client.getAll().prefix('npm/').strings()));
    log('count=' + await client.getAll().prefix('npm/').count());
    const t = await client.if('npm/a', 'Value', '==', '1').then(client.put('npm/c').value('3')).else(client.put('npm/d').value('4')).commit();
    log('txn succeeded=' + t.succeeded);
    const t2 = await client.if('npm/a', 'Value', '==', 'x').then(client.put('npm/c').value('5')).else(client.get('npm/b')).commit();
    log('txn2 succeeded=' + t2.succeeded + ' else=' + t2.responses[0].response_range.kvs[0].value.toString());
    const del = await client.delete().key('npm/b').exec();
    log('deleted=' + del.deleted);
    const lease = client.lease(10);
    await lease.put('npm/leased').value('x').exec();
    log('leased=' + await client.get('npm/leased').string());
    const ttl = await lease.keepaliveOnce();
    log('keepalive ttl=' + ttl.TTL);
    await lease.revoke();
    log('after revoke=' + await client.get('npm/leased').string());
    const watcher = await client.watch().key('npm/w').create();
    const events = [];
    const done = new Promise((resolve) => watcher.on('put', (kv) => { events.push(kv.value.toString()); if (events.length === 3) resolve(); }));
    for (const v of ['w1', 'w2', 'w3']) await client.put('npm/w').value(v);
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error('watch timeout')), 10000))]);
    log('watch=' + events.join(','));
    await watcher.cancel();
    try { await client.get('npm/a').revision(1).string(); log('old rev ok'); } catch (e) { log('old rev error'); }
    await client.delete().prefix('npm/').exec();
    log('after delete count=' + await client.getAll().prefix('npm/').count());
    try {
      await client.get('npm/a').revision(1000000).string();
      log('future rev: no error');
    } catch (e) { log('future rev: ' + e.constructor.name + ': ' + e.message); }
    console.log(out.join('\n'));
    client.close();
  } catch (e) {
    console.log(out.join('\n'));
    console.log('FAILED: ' + (e && e.stack || e));
    client.close();
    process.exit(1);
  }
})();
