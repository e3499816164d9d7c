//! The image's first instructions: both loaders enter 32-bit protected mode with paging off;
//! one stub zeroes .bss, identity-maps the first 4 GiB with 2 MiB pages, enables long mode
//! (with EFER.NXE for no-execute and EFER.SCE for `syscall`, CR0.WP so read-only pages bind
//! ring 0 too) and calls [`crate::kernel::kiln_main`] on the boot stack.
//!
//! PVH (`qemu -kernel`, Firecracker, cloud-hypervisor) enters at `kiln_pvh_entry` with `ebx`
//! pointing at `hvm_start_info`; multiboot2 (GRUB) enters at `kiln_mb2_entry` with `eax` =
//! 0x36d76289 and `ebx` pointing at the boot information. These page tables last only until
//! `mm` builds the real ones with per-section protections.
//!
//! The ELF entry point (`e_entry`) is a third entry, `kiln_linux_entry`, which neither
//! loader uses (PVH reads its note, GRUB the multiboot2 header's entry-address tag): it is
//! where a Linux kernel starts the image when it is executed as an ordinary program. There it
//! runs in 64-bit ring 3 with the stack Linux built (argc, argv, envp, auxv), and it jumps to
//! musl's `_start` with that stack and every register Linux defined untouched, so the
//! program runs natively and its syscalls go to the host kernel (configure scripts and test
//! runners execute what they build). Its first bytes decode in 32-bit mode too: a loader that
//! enters `e_entry` in protected mode is sent to the multiboot2 path (which checks `eax`), and
//! one that enters it in 64-bit ring 0 finds the CPU halted (it would bring no boot
//! information Kiln can read).

/// Loader kinds passed to `kiln_main` in `edi`.
pub const LOADER_PVH: u32 = 1;
pub const LOADER_MULTIBOOT2: u32 = 2;

/// Size of the boot stack, which is also the kernel's stack until the program starts. The
/// page below it (`kiln_boot_stack_guard`) is unmapped once the real page tables are built.
pub const BOOT_STACK_SIZE: usize = 256 * 1024;

/// TSC at the first instruction, written before .bss is cleared (so it lives in .data).
#[no_mangle]
#[used]
static mut KILN_BOOT_TSC: u64 = 1;

/// Reads the TSC value taken at the first instruction of the image.
pub fn boot_tsc() -> u64 {
    // SAFETY: written once by the entry stub before any Rust code ran; read-only afterwards.
    unsafe { core::ptr::addr_of!(KILN_BOOT_TSC).read_volatile() }
}

core::arch::global_asm!(
    r#"
    .set MB2_MAGIC, 0xe85250d6
    .set MB2_ARCH_I386, 0

    .section .multiboot2, "a"
    .balign 8
mb2_header_start:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header_start
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header_start))
    /* entry address tag (type 3): GRUB jumps here in 32-bit protected mode */
    .balign 8
    .word 3
    .word 0
    .long 12
    .long kiln_mb2_entry
    /* end tag */
    .balign 8
    .word 0
    .word 0
    .long 8
mb2_header_end:

    /* XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point, a .quad as Linux writes it. */
    .section .note.Xen, "a"
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad kiln_pvh_entry

    .section .text.boot, "ax"
    /* The ELF entry. The same bytes mean different things in the two modes:
         31 c9      xor %ecx,%ecx               (both modes)
         49 85 c9   64-bit: test %rcx,%r9 -> ZF=1   32-bit: dec %ecx; test %ecx,%ecx -> ZF=0
         75 ..      jnz: taken only in 32-bit mode, to a jmp (same encoding in both modes)
       `eax` and `ebx` survive for the multiboot2 path; Linux defines only rsp (and rdx, the
       dynamic linker's fini pointer, which musl's static _start ignores) at process entry. */
    .code64
    .global kiln_linux_entry
kiln_linux_entry:
    .byte 0x31, 0xc9
    .byte 0x49, 0x85, 0xc9
    .byte 0x75, 5f - (. + 1)
    /* 64-bit: the current privilege level is CS's low two bits; 3 only in a user process. */
    mov %cs, %eax
    and $3, %eax
    cmp $3, %eax
    jne 6f
    jmp _start
5:  .byte 0xe9
    .long kiln_mb2_entry - (. + 4)
    /* 64-bit ring 0 from an unknown loader: nothing to boot from. */
6:  cli
    hlt
    jmp 6b

    .code32
    .global kiln_pvh_entry
kiln_pvh_entry:
    cli
    cld
    mov %ebx, %esi
    mov ${pvh}, %ebp
    jmp 1f

    .global kiln_mb2_entry
kiln_mb2_entry:
    cli
    cld
    cmp $0x36d76289, %eax
    jne 9f
    mov %ebx, %esi
    mov ${mb2}, %ebp
1:
    rdtsc
    mov %eax, KILN_BOOT_TSC
    mov %edx, KILN_BOOT_TSC + 4

    /* zero .bss (the loader may not) */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    mov $kiln_boot_stack_top, %esp

    /* PML4[0] -> PDPT; PDPT[0..4] -> PD[0..4]; PD entries: 2 MiB pages, present+writable */
    mov $kiln_boot_pdpt, %eax
    or $3, %eax
    mov %eax, kiln_boot_pml4
    mov $kiln_boot_pd, %eax
    or $3, %eax
    mov $kiln_boot_pdpt, %edi
    mov $4, %ecx
2:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 2b
    mov $kiln_boot_pd, %edi
    mov $0x83, %eax
    mov $2048, %ecx
3:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 3b

    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $kiln_boot_pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* EFER: SCE | LME | NXE */
    rdmsr
    or $0x901, %eax
    wrmsr
    mov %cr0, %eax
    and $~0x4, %eax             /* EM off */
    or $0x80010003, %eax        /* PG | WP | MP | PE */
    mov %eax, %cr0

    lgdt kiln_boot_gdt_ptr
    ljmp $0x08, $4f

9:  hlt
    jmp 9b

    .code64
4:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $kiln_boot_stack_top, %esp
    mov %ebp, %edi
    mov %esi, %esi
    xor %ebp, %ebp
    call {main}
    ud2

    .section .rodata.kiln_boot_gdt, "a"
    .balign 16
kiln_boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
kiln_boot_gdt_ptr:
    .word kiln_boot_gdt_ptr - kiln_boot_gdt - 1
    .long kiln_boot_gdt

    .section .bss.kiln_boot, "aw", @nobits
    .balign 4096
kiln_boot_pml4: .skip 4096
kiln_boot_pdpt: .skip 4096
kiln_boot_pd:   .skip 4096 * 4
    /* One page left unmapped by the real page tables (mm::paging): the boot stack overflows
       into it and faults instead of running over the boot page tables. */
    .global kiln_boot_stack_guard
kiln_boot_stack_guard: .skip 4096
    .global kiln_boot_stack_bottom
kiln_boot_stack_bottom:
    .skip {stack_size}
    .global kiln_boot_stack_top
kiln_boot_stack_top:
    "#,
    pvh = const LOADER_PVH,
    mb2 = const LOADER_MULTIBOOT2,
    stack_size = const BOOT_STACK_SIZE,
    main = sym crate::kernel::kiln_main,
    options(att_syntax)
);
