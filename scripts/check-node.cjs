// Runs before `npm start` on whatever Node is installed, so it must stay plain CommonJS.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `Tollgate needs Node.js 22.12 or newer (24 LTS recommended); this is ${process.version}.\n` +
      'Install Node 24 from https://nodejs.org, or with a version manager (`nvm install 24`, `fnm use 24`),\n' +
      'then run `npm install` again.',
  );
  process.exit(1);
}
