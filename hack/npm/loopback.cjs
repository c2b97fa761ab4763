// Preload for @modelcontextprotocol/server-everything: it calls app.listen(PORT) with no host, i.e. on all
// interfaces. Insert 127.0.0.1 so tests listen on loopback only.
const net = require('net');
const orig = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if ((typeof a[0] === 'number' || typeof a[0] === 'string') && (a.length === 1 || typeof a[1] === 'function')) a.splice(1, 0, '127.0.0.1');
  return orig.apply(this, a);
};
