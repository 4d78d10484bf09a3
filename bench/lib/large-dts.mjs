// A large, realistic device tree for the codec benchmark: 12 `bus@N` simple-buses of about a
// thousand device nodes each (UARTs, GPIO banks, I2C and SPI controllers, DMA engines), with the
// properties such nodes carry: compatible lists, reg, interrupts, clocks, pinctrl, controller
// cells, status. Compiled with dtc, the blob is about 1.8 MiB (1,886,215 bytes).

const KINDS = [
  {
    node: 'serial',
    compat: ['vendor,uart', 'ns16550a'],
    size: 0x100,
    extra: (i) => `\t\t\tclock-frequency = <${1843200 + (i % 7) * 100}>;\n`,
  },
  {
    node: 'gpio',
    compat: ['vendor,gpio-v3'],
    size: 0x400,
    extra: () =>
      '\t\t\tgpio-controller;\n\t\t\t#gpio-cells = <2>;\n' +
      '\t\t\tinterrupt-controller;\n\t\t\t#interrupt-cells = <2>;\n\t\t\t#address-cells = <0>;\n',
  },
  {
    node: 'i2c',
    compat: ['vendor,i2c'],
    size: 0x1000,
    extra: () => '\t\t\t#address-cells = <1>;\n\t\t\t#size-cells = <0>;\n',
  },
  {
    node: 'spi',
    compat: ['vendor,spi'],
    size: 0x1000,
    extra: () => '\t\t\t#address-cells = <1>;\n\t\t\t#size-cells = <0>;\n',
  },
  {
    node: 'dma-controller',
    compat: ['vendor,dma-v4'],
    size: 0x800,
    extra: (i) => `\t\t\t#dma-cells = <1>;\n\t\t\tdma-channels = <${8 + (i % 8)}>;\n`,
  },
];

const hex = (n) => `0x${n.toString(16)}`;

/** DTS text: `buses` buses of `perBus` devices. */
export function largeDts({ buses = 12, perBus = 1000 } = {}) {
  const out = [];
  out.push(
    '/dts-v1/;\n\n/ {\n\tmodel = "vman bench large board";\n\tcompatible = "vman,bench-large";\n' +
      '\t#address-cells = <2>;\n\t#size-cells = <2>;\n',
  );
  out.push(
    '\tintc: interrupt-controller@8000000 {\n\t\tcompatible = "arm,gic-400";\n\t\t#interrupt-cells = <3>;\n' +
      '\t\t#address-cells = <0>;\n\t\tinterrupt-controller;\n' +
      '\t\treg = <0x0 0x8000000 0x0 0x10000>, <0x0 0x8010000 0x0 0x10000>;\n\t};\n',
  );
  out.push(
    '\tclk: clock-controller@9000000 {\n\t\tcompatible = "vendor,soc-ccu";\n' +
      '\t\treg = <0x0 0x9000000 0x0 0x1000>;\n\t\t#clock-cells = <1>;\n\t\t#reset-cells = <1>;\n\t};\n',
  );
  out.push(
    '\tpinctrl: pinctrl@9100000 {\n\t\tcompatible = "vendor,soc-pinctrl";\n' +
      '\t\treg = <0x0 0x9100000 0x0 0x1000>;\n\t};\n',
  );
  for (let b = 0; b < buses; b++) {
    const busBase = 0x1000_0000 + b * 0x0100_0000;
    out.push(
      `\tbus@${busBase.toString(16)} {\n\t\tcompatible = "simple-bus";\n\t\t#address-cells = <1>;\n` +
        `\t\t#size-cells = <1>;\n\t\tranges = <0x0 0x0 ${hex(busBase)} 0x1000000>;\n\t\tinterrupt-parent = <&intc>;\n`,
    );
    for (let d = 0; d < perBus; d++) {
      const k = KINDS[(b + d) % KINDS.length];
      const off = d * 0x4000;
      const n = b * perBus + d;
      out.push(`\t\t${k.node}@${off.toString(16)} {\n`);
      out.push(`\t\t\tcompatible = ${k.compat.map((c) => `"${c}"`).join(', ')};\n`);
      out.push(`\t\t\treg = <${hex(off)} ${hex(k.size)}>;\n`);
      out.push(`\t\t\tinterrupts = <0 ${32 + (n % 900)} 4>;\n`);
      if (d % 4 !== 3) out.push(`\t\t\tclocks = <&clk ${n % 256}>;\n`);
      if (d % 4 === 0) out.push(`\t\t\tpinctrl-0 = <&pinctrl>;\n`);
      out.push(k.extra(n));
      if (d % 4 === 3) out.push('\t\t\tstatus = "disabled";\n');
      out.push('\t\t};\n');
    }
    out.push('\t};\n');
  }
  out.push('};\n');
  return out.join('');
}
