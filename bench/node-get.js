// The same GET as the service, as a plain Node.js service would do it: its http server, one
// call to the CRUD with http and a keep-alive agent, the caller's link in JSON. For the
// benchmark's Node rows only (one process, behind nginx proxy_pass). With --log, each answered
// GET writes the line our service writes (and the original's pino did): one JSON object on
// standard error, synchronously. Usage:
//   node bench/node-get.js PORT CRUD_BASE_URL [--log]
'use strict';
const fs = require('fs');
const http = require('http');
const [port, crud, log] = [Number(process.argv[2]), new URL(process.argv[3]), process.argv[4] === '--log'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const health = JSON.stringify({ status: 'OK', name: 'teleconsultation-backend', version: '1.0.0' });
const route = /^\/api\/v1\/telecons-be\/teleconsultation\/([0-9a-f]{24})$/;

let ids = 0;

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  if (log && res.req.url !== '/api/v1/telecons-be/-/healthz') {
    const req = res.req;
    fs.writeSync(2, JSON.stringify({
      level: 30, time: Date.now(), pid: process.pid, reqId: req.headers['x-request-id'] || `node-${++ids}`,
      method: req.method, path: req.url, route: '/teleconsultation/:roomId', statusCode: status,
      responseTime: Number(process.hrtime.bigint() - req.start) / 1e6, msg: 'request completed',
    }) + '\n');
  }
}

http.createServer((req, res) => {
  req.start = process.hrtime.bigint();
  if (req.url === '/api/v1/telecons-be/-/healthz') return send(res, 200, health);
  const m = route.exec(req.url);
  if (!m || req.method !== 'GET') return send(res, 404, '{"statusCode":404,"error":"Not Found","message":"Route not found"}');
  const caller = req.headers['miauserid'];
  const call = http.get({ host: crud.hostname, port: crud.port, path: `${crud.pathname}/teleconsultations/${m[1]}`, agent,
                          headers: { accept: 'application/json', 'x-request-id': req.headers['x-request-id'] || 'node' } }, (up) => {
    const chunks = [];
    up.on('data', (c) => chunks.push(c));
    up.on('end', () => {
      if (up.statusCode === 404) return send(res, 404, JSON.stringify({ statusCode: 404, error: `Room with id ${m[1]} not found on CRUD`, message: `Room with id ${m[1]} not found on CRUD` }));
      let doc;
      try { doc = JSON.parse(Buffer.concat(chunks)); } catch (e) { return send(res, 502, '{"statusCode":502,"error":"Bad Gateway","message":"The crud service failed"}'); }
      const me = (doc.participants || []).find((p) => p.userExternalId === caller);
      if (!me) return send(res, 401, '{"statusCode":401,"error":"Unauthorized user","message":"Unauthorized user"}');
      send(res, 200, JSON.stringify({
        bandyerUserId: me.userBandyerId || null,
        accessLinkURL: doc.bandyerRoomId ? me.accessLinkURL || null : null,
        participantsBandyerCall: doc.participants.map((p) => ({ bandyerUserId: p.userBandyerId || null, fullName: p.fullName || null })),
      }));
    });
  });
  call.on('error', () => send(res, 502, '{"statusCode":502,"error":"Bad Gateway","message":"The crud service failed"}'));
}).listen(port, '127.0.0.1');
