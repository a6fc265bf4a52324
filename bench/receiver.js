#!/usr/bin/env node
// A webhook receiver for benchmarks: answers 204 at once and logs, per request, the arrival
// time, webhook-id, the event's timestamp (so event -> delivered latency can be computed) and the
// path. One event loop: low latency at any number of connections.
//
// Usage: receiver.js PORT LOGFILE
"use strict";
const http = require("http");
const fs = require("fs");
const [port, logfile] = process.argv.slice(2);
const out = fs.createWriteStream(logfile, { flags: "a" });
http
  .createServer({ keepAliveTimeout: 60000 }, (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const now = Date.now() / 1000;
      let sent = "-";
      try {
        const ts = JSON.parse(Buffer.concat(chunks).toString()).timestamp;
        if (ts) sent = (Date.parse(ts) / 1000).toFixed(3);
      } catch (e) {}
      out.write(`${now.toFixed(6)} ${req.headers["webhook-id"] || "-"} ${sent} ${req.url}\n`);
      res.writeHead(204, { "Content-Length": "0" });
      res.end();
    });
  })
  .listen(Number(port), "127.0.0.1");
