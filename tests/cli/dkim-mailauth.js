// mailauth (npm, pinned in tests/node) as a second independent DKIM
// verifier for the tests.
//
// usage: node dkim-mailauth.js NODE_MODULES DNS-TXT-FILE < message
//        node dkim-mailauth.js NODE_MODULES --serve
//
// The message is put in its wire form (every CR, LF and CRLF a CRLF);
// keys come from DNS-TXT-FILE ("NAME TXT-VALUE" lines, as mime-dkim
// --print-dns-record writes them) through a local resolver, never the
// network.  Prints one line per signature; exits 0 when there is at least
// one signature and every one passes, 1 otherwise.
//
// With --serve it loads mailauth once (most of a run's time) and verifies
// on request: it listens on 127.0.0.1, prints the port, and for each
// connection reads three lines (a directory, DNS-TXT-FILE relative to it,
// the message file), writes what a run would print, then "exit N".  It
// ends when its stdin does (tests/cli/dkim-lib.sh holds it open) or the
// process named by $MAILAUTH_PARENT does.
'use strict';
const fs = require('fs');
const path = require('path');
const { dkimVerify } = require(path.join(process.argv[2], 'mailauth/lib/dkim/verify'));

function keys(text) {
    const table = new Map();
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) continue;
        const sp = line.search(/\s/);
        table.set(line.slice(0, sp).replace(/\.$/, '').toLowerCase(), line.slice(sp).trim());
    }
    return table;
}

// the lines a run prints and its exit status
async function verify(dnsText, message) {
    const table = keys(dnsText);
    const resolver = async (name, rrtype) => {
        const value = table.get(name.replace(/\.$/, '').toLowerCase());
        if (rrtype !== 'TXT' || value === undefined) {
            const err = new Error('not found: ' + name);
            err.code = 'ENOTFOUND';
            throw err;
        }
        // a TXT record of several strings, as DNS carries a long one
        const parts = [];
        for (let at = 0; at < value.length; at += 255) parts.push(value.slice(at, at + 255));
        return [parts];
    };
    const input = message.toString('binary').replace(/\r\n|\r|\n/g, '\r\n');
    const lines = [];
    try {
        const res = await dkimVerify(Buffer.from(input, 'binary'), { resolver });
        let ok = res.results.length > 0;
        res.results.forEach((r, i) => {
            const status = r.status && r.status.result;
            if (status === 'none' && /no signatures/i.test(r.info || '')) ok = false;
            lines.push(`signature ${i + 1}: ${status} ${r.info || ''}`);
            if (status !== 'pass') ok = false;
        });
        return { lines, code: ok ? 0 : 1 };
    } catch (err) {
        lines.push('error: ' + err.message);
        return { lines, code: 1 };
    }
}

function serve() {
    const net = require('net');
    const server = net.createServer(conn => {
        let buf = '';
        conn.on('data', async chunk => {
            buf += chunk.toString('utf8');
            const req = buf.split('\n');
            if (req.length < 4) return;
            buf = null;
            let out;
            try {
                out = await verify(fs.readFileSync(path.resolve(req[0], req[1]), 'ascii'),
                                   fs.readFileSync(path.resolve(req[0], req[2])));
            } catch (err) {
                out = { lines: ['error: ' + err.message], code: 1 };
            }
            conn.end(out.lines.map(l => l + '\n').join('') + `exit ${out.code}\n`);
        });
        conn.on('error', () => {});
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
    const parent = Number(process.env.MAILAUTH_PARENT || 0);
    if (parent) {
        setInterval(() => {
            try { process.kill(parent, 0); } catch (e) { process.exit(0); }
        }, 2000).unref();
    }
}

if (process.argv[3] === '--serve') {
    serve();
} else {
    verify(fs.readFileSync(process.argv[3], 'ascii'), fs.readFileSync(0)).then(out => {
        for (const l of out.lines) console.log(l);
        process.exit(out.code);
    });
}
