// The MTUS extension: .mtus files are highlighted by syntaxes/mtus.tmLanguage.json, and
// everything else (diagnostics as you type, hover, completion, go to definition,
// document symbols, formatting) comes from `mtus lsp`, started here over stdio.
// Settings: mtus.server.command (default "mtus") and mtus.server.args (default ["lsp"]).
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("mtus");
  const server = {
    command: config.get("server.command", "mtus"),
    args: config.get("server.args", ["lsp"]),
  };
  client = new LanguageClient(
    "mtus",
    "MTUS language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "mtus" }, { scheme: "untitled", language: "mtus" }] },
  );
  context.subscriptions.push(client);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `Could not start "${server.command} ${server.args.join(" ")}": ${err.message}. ` +
        "Install it with pip install 'mtus[lsp]', or set mtus.server.command to its full path.",
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
