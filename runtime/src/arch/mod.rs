//! x86-64 specifics: CPU features and control registers, GDT/TSS, the IDT and fault reports,
//! the local APIC timer, the I/O APIC and device interrupt vectors. Everything here touches
//! hardware.

pub mod apic;
pub mod context;
pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod irq;
