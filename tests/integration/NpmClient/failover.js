// A watch through the etcd3 npm client survives a kill -9 of the member serving it.
//   node failover.js HOST1,HOST2,HOST3 N
// The watcher knows all hosts and picks one as the library does (at random); a writer puts the
// values 1..N one at a time. After N/2 the script prints "KILL host:port" (the member its watch stream
// is on) on stderr and waits for a line on stdin: the test kills that member, then answers. The
// writer then goes on through the other hosts. At the end stdout gets one line:
//   seen=S missing=M dup=D ordered=true|false disconnects=yes|no
const readline = require('readline');
const { Etcd3 } = require('etcd3');

const hosts = process.argv[2].split(',');
const n = parseInt(process.argv[3] || '200', 10);
const watcherClient = new Etcd3({ hosts, dialTimeout: 3000 });
let writer = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const input = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => input.once('line', resolve));

(async () => {
  const seen = [];
  let disconnects = 0;
  const watcher = await watcherClient.watch().key('failover/k').create();
  watcher.on('put', (kv) => seen.push(kv.value.toString()));
  watcher.on('disconnected', () => { disconnects++; console.error(`disconnected after ${seen.length} values`); });
  watcher.on('connected', () => console.error(`connected after ${seen.length} values`));
  // The watch stream's member (a private field of the library, read for the test only).
  const victim = watcherClient.watchManager.stream.getPeer();
  writer = new Etcd3({ hosts: hosts.filter((h) => h !== victim), dialTimeout: 3000 });
  for (let i = 1; i <= n; i++) {
    // A put that fails while the cluster elects (if the killed member led) is retried; one that
    // failed after committing would show up as a duplicate value, which the test would report.
    for (let attempt = 0; ; attempt++) {
      try { await writer.put('failover/k').value(String(i)); break; } catch (e) {
        if (attempt > 100) throw e;
        await sleep(100);
      }
    }
    await sleep(10);
    if (i === Math.floor(n / 2)) {
      console.error(`KILL ${victim} (watch saw ${seen.length})`);
      await nextLine();
    }
  }
  const deadline = Date.now() + 30000;
  while (seen.length < n && Date.now() < deadline) await sleep(100);
  const dup = seen.length - new Set(seen).size;
  let missing = 0;
  for (let i = 1; i <= n; i++) if (!seen.includes(String(i))) missing++;
  let ordered = true;
  for (let i = 1; i < seen.length; i++) if (+seen[i] <= +seen[i - 1]) ordered = false;
  console.log(`seen=${seen.length} missing=${missing} dup=${dup} ordered=${ordered} disconnects=${disconnects > 0 ? 'yes' : 'no'}`);
  // close() waits for the dead member's connection attempts; the verdict is printed, so leave now.
  process.exit(0);
})().catch((e) => { console.log('FAILED: ' + (e && e.stack || e)); process.exit(1); });
