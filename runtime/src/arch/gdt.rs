//! The GDT (kernel code 0x08, kernel data 0x10, the TSS) and the TSS's IST stacks.
//!
//! `syscall` loads CS from STAR[47:32] and SS from that + 8, so code must be 0x08 and data
//! 0x10 — the same selectors the boot stub uses.

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// IST slots (1-based in the IDT, 0-based in the TSS table).
pub const IST_INTERRUPT: u16 = 1;
pub const IST_PAGE_FAULT: u16 = 2;
pub const IST_DOUBLE_FAULT: u16 = 3;
pub const IST_NMI_MCE: u16 = 4;
pub const IST_FAULT: u16 = 5;

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, SegmentSelector)> = Once::new();

/// Loads the GDT and TSS. `ist_tops[i]` is the top of the stack for IST slot `i + 1`; each
/// stack has an unmapped guard page below it (see `mm::kernel_stack`).
pub fn init(ist_tops: [u64; 5]) {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for (slot, top) in ist_tops.iter().enumerate() {
            tss.interrupt_stack_table[slot] = VirtAddr::new(*top);
        }
        tss
    });
    let (gdt, tss_sel) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        debug_assert_eq!((code.0, data.0), (0x08, 0x10));
        let tss_sel = gdt.append(Descriptor::tss_segment(tss));
        (gdt, tss_sel)
    });
    gdt.load();
    // SAFETY: the selectors name the descriptors just loaded; the TSS lives in a static.
    unsafe {
        CS::set_reg(SegmentSelector(0x08));
        let data = SegmentSelector(0x10);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        load_tss(*tss_sel);
    }
}
