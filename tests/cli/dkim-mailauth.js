// mailauth (npm, pinned in tests/node) as a second independent DKIM
// verifier for the tests.
//
// usage: node dkim-mailauth.js NODE_MODULES DNS-TXT-FILE < message
//
// The message is put in its wire form (every CR, LF and CRLF a CRLF);
// keys come from DNS-TXT-FILE ("NAME TXT-VALUE" lines, as mime-dkim
// --print-dns-record writes them) through a local resolver, never the
// network.  Prints one line per signature; exits 0 when there is at least
// one signature and every one passes, 1 otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const { dkimVerify } = require(path.join(process.argv[2], 'mailauth/lib/dkim/verify'));

const table = new Map();
for (const raw of fs.readFileSync(process.argv[3], 'ascii').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sp = line.search(/\s/);
    table.set(line.slice(0, sp).replace(/\.$/, '').toLowerCase(), line.slice(sp).trim());
}

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

const input = fs.readFileSync(0).toString('binary').replace(/\r\n|\r|\n/g, '\r\n');
dkimVerify(Buffer.from(input, 'binary'), { resolver }).then(res => {
    let ok = res.results.length > 0;
    res.results.forEach((r, i) => {
        const status = r.status && r.status.result;
        if (status === 'none' && /no signatures/i.test(r.info || '')) ok = false;
        console.log(`signature ${i + 1}: ${status} ${r.info || ''}`);
        if (status !== 'pass') ok = false;
    });
    process.exit(ok ? 0 : 1);
}, err => {
    console.log('error: ' + err.message);
    process.exit(1);
});
