// What npm's mailparser (simpleParser) or postal-mime reads in a message,
// as JSON: the view of read-python.py.
//
// usage: node read-node.mjs mailparser|postal-mime FILE
//        node read-node.mjs mailparser|postal-mime --batch NAME.eml...
// (run with NODE_PATH, or from a folder whose node_modules holds both)
//
// --batch reads each NAME.eml in one run (loading the reader once) and
// writes NAME.READER.json, or NAME.READER.err saying why it could not.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(join(process.cwd(), 'node_modules', 'x.js'));
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const stripCid = (cid) => (cid ? cid.trim().replace(/^<|>$/g, '') : null);

async function mailparser(raw) {
	const { simpleParser } = require('mailparser');
	const m = await simpleParser(raw, {
		keepCidLinks: true,
		skipHtmlToText: true,
		skipTextToHtml: true,
		skipTextLinks: true,
	});
	const out = {
		subject: m.subject ?? null,
		text: m.text ?? null,
		html: m.html === false || m.html === undefined ? null : m.html,
		attachments: [],
	};
	for (const a of m.attachments) {
		const type = a.contentType.toLowerCase();
		const entry = {
			type,
			disposition: a.contentDisposition ?? null,
			filename: a.filename ?? null,
			cid: type === 'message/rfc822' ? null : stripCid(a.cid),
		};
		if (type === 'message/rfc822')
			entry.message = await mailparser(a.content);
		else
			Object.assign(entry, { sha256: sha256(a.content), size: a.content.length });
		out.attachments.push(entry);
	}
	return out;
}

async function postalMime(raw) {
	const PostalMime = (await import(
		require.resolve('postal-mime'))).default;
	const m = await PostalMime.parse(raw, {
		forceRfc822Attachments: true,
		attachmentEncoding: 'arraybuffer',
	});
	const out = {
		subject: m.subject ?? null,
		text: m.text ?? null,
		html: m.html ?? null,
		attachments: [],
	};
	for (const a of m.attachments) {
		const type = a.mimeType.toLowerCase();
		const content = Buffer.from(a.content);
		const entry = {
			type,
			disposition: a.disposition ?? null,
			filename: a.filename ?? null,
			cid: type === 'message/rfc822' ? null : stripCid(a.contentId),
		};
		if (type === 'message/rfc822')
			entry.message = await postalMime(content);
		else
			Object.assign(entry, { sha256: sha256(content), size: content.length });
		out.attachments.push(entry);
	}
	return out;
}

const sortKeys = (v) =>
	Array.isArray(v) ? v.map(sortKeys)
	: v && typeof v === 'object'
		? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
		: v;
const [reader, ...files] = process.argv.slice(2);
const read = async (file) => {
	const raw = readFileSync(file);
	const view = reader === 'mailparser' ? await mailparser(raw) : await postalMime(raw);
	return JSON.stringify(sortKeys(view), null, 1) + '\n';
};
if (files[0] === '--batch') {
	for (const file of files.slice(1)) {
		const base = file.replace(/\.eml$/, '') + '.' + reader;
		try {
			writeFileSync(base + '.json', await read(file));
		} catch (err) {
			writeFileSync(base + '.err', (err && err.stack) + '\n');
		}
	}
} else {
	process.stdout.write(await read(files[0]));
}
