;; The reference's 32-bit float arithmetic for PDQ's exact path (see exact.ts):
;; luminance and the box-filter running sums, with every operation rounded
;; to 32 bits exactly as the C++ reference's float code does (wasm f32
;; arithmetic is IEEE single precision, and never fused).
(module
  (memory (export "memory") 1)

  ;; luma of n pixels of one row (row bytes at $src; pixel x at $src + x * $step,
  ;; or at $src + offsets[x] when $offp is not 0) into f32 at $dst:
  ;; (0.299f * R + 0.587f * G) + 0.114f * B, each product and sum rounded to f32.
  (func (export "lumaRow")
    (param $src i32) (param $offp i32) (param $n i32) (param $step i32) (param $goff i32) (param $boff i32) (param $dst i32)
    (local $x i32) (local $p i32)
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $next
        (local.set $p
          (if (result i32) (local.get $offp)
            (then (i32.add (local.get $src) (i32.load (i32.add (local.get $offp) (i32.shl (local.get $x) (i32.const 2))))))
            (else (i32.add (local.get $src) (i32.mul (local.get $x) (local.get $step))))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2)))
          (f32.add
            (f32.add
              (f32.mul (f32.const 0.299) (f32.convert_i32_u (i32.load8_u (local.get $p))))
              (f32.mul (f32.const 0.587) (f32.convert_i32_u (i32.load8_u (i32.add (local.get $p) (local.get $goff))))))
            (f32.mul (f32.const 0.114) (f32.convert_i32_u (i32.load8_u (i32.add (local.get $p) (local.get $boff)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $x) (local.get $n))))))

  ;; One box-filter pass along every row of the w x h f32 image at $in into $out,
  ;; in the reference's phases: fill (half - 1 adds), grow (win - half + 1 adds
  ;; and writes), slide (w - win: add, subtract, write), shrink (half - 1
  ;; subtracts and writes); out = sum / count. With $maskp not 0, column x is
  ;; written only where the byte at $maskp + x is not 0.
  (func (export "boxRows")
    (param $in i32) (param $out i32) (param $w i32) (param $h i32) (param $win i32) (param $maskp i32)
    (local $half i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $y i32) (local $row i32) (local $ri i32) (local $li i32) (local $oi i32) (local $i i32)
    (local $sum f32) (local $count i32)
    (local.set $half (i32.div_s (i32.add (local.get $win) (i32.const 2)) (i32.const 2)))
    (local.set $p1 (i32.sub (local.get $half) (i32.const 1)))
    (local.set $p2 (i32.add (i32.sub (local.get $win) (local.get $half)) (i32.const 1)))
    (local.set $p3 (i32.sub (local.get $w) (local.get $win)))
    (block $rows_done
      (br_if $rows_done (i32.eqz (local.get $h)))
      (loop $rows
        (local.set $row (i32.mul (local.get $y) (local.get $w)))
        (local.set $ri (local.get $row))
        (local.set $li (local.get $row))
        (local.set $oi (local.get $row))
        (local.set $sum (f32.const 0))
        (local.set $count (i32.const 0))
        ;; phase 1
        (local.set $i (i32.const 0))
        (block $b1 (loop $l1
          (br_if $b1 (i32.ge_s (local.get $i) (local.get $p1)))
          (local.set $sum (f32.add (local.get $sum) (f32.load (i32.add (local.get $in) (i32.shl (local.get $ri) (i32.const 2))))))
          (local.set $ri (i32.add (local.get $ri) (i32.const 1)))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l1)))
        ;; phase 2
        (local.set $i (i32.const 0))
        (block $b2 (loop $l2
          (br_if $b2 (i32.ge_s (local.get $i) (local.get $p2)))
          (local.set $sum (f32.add (local.get $sum) (f32.load (i32.add (local.get $in) (i32.shl (local.get $ri) (i32.const 2))))))
          (local.set $ri (i32.add (local.get $ri) (i32.const 1)))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (if (i32.or (i32.eqz (local.get $maskp)) (i32.load8_u (i32.add (local.get $maskp) (i32.sub (local.get $oi) (local.get $row)))))
            (then (f32.store (i32.add (local.get $out) (i32.shl (local.get $oi) (i32.const 2)))
              (f32.div (local.get $sum) (f32.convert_i32_s (local.get $count))))))
          (local.set $oi (i32.add (local.get $oi) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l2)))
        ;; phase 3
        (local.set $i (i32.const 0))
        (block $b3 (loop $l3
          (br_if $b3 (i32.ge_s (local.get $i) (local.get $p3)))
          (local.set $sum (f32.add (local.get $sum) (f32.load (i32.add (local.get $in) (i32.shl (local.get $ri) (i32.const 2))))))
          (local.set $sum (f32.sub (local.get $sum) (f32.load (i32.add (local.get $in) (i32.shl (local.get $li) (i32.const 2))))))
          (local.set $ri (i32.add (local.get $ri) (i32.const 1)))
          (local.set $li (i32.add (local.get $li) (i32.const 1)))
          (if (i32.or (i32.eqz (local.get $maskp)) (i32.load8_u (i32.add (local.get $maskp) (i32.sub (local.get $oi) (local.get $row)))))
            (then (f32.store (i32.add (local.get $out) (i32.shl (local.get $oi) (i32.const 2)))
              (f32.div (local.get $sum) (f32.convert_i32_s (local.get $count))))))
          (local.set $oi (i32.add (local.get $oi) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l3)))
        ;; phase 4
        (local.set $i (i32.const 0))
        (block $b4 (loop $l4
          (br_if $b4 (i32.ge_s (local.get $i) (local.get $p1)))
          (local.set $sum (f32.sub (local.get $sum) (f32.load (i32.add (local.get $in) (i32.shl (local.get $li) (i32.const 2))))))
          (local.set $li (i32.add (local.get $li) (i32.const 1)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (if (i32.or (i32.eqz (local.get $maskp)) (i32.load8_u (i32.add (local.get $maskp) (i32.sub (local.get $oi) (local.get $row)))))
            (then (f32.store (i32.add (local.get $out) (i32.shl (local.get $oi) (i32.const 2)))
              (f32.div (local.get $sum) (f32.convert_i32_s (local.get $count))))))
          (local.set $oi (i32.add (local.get $oi) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l4)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $y) (local.get $h))))))

;; The same pass down the $ncols columns listed (i32) at $colsp, computed row
  ;; by row with one running sum per column (f32 at $sumsp, zeroed by the caller):
  ;; the same operations in the same order per column as the reference. One
  ;; helper per phase keeps the inner loops free of branches.
  (func $colsAdd (param $in i32) (param $ri i32) (param $colsp i32) (param $ncols i32) (param $sumsp i32)
    (local $c i32) (local $sp i32)
    (block $done (br_if $done (i32.eqz (local.get $ncols)))
      (loop $col
        (local.set $sp (i32.add (local.get $sumsp) (i32.shl (local.get $c) (i32.const 2))))
        (f32.store (local.get $sp) (f32.add (f32.load (local.get $sp))
          (f32.load (i32.add (local.get $in) (i32.shl (i32.add (local.get $ri) (i32.load (i32.add (local.get $colsp) (i32.shl (local.get $c) (i32.const 2))))) (i32.const 2))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $col (i32.lt_u (local.get $c) (local.get $ncols))))))

  ;; $mode 1: add row $ri; 2: add row $ri then subtract row $li; 3: subtract row $li.
  ;; Then out[$oi + x] = sum / count.
  (func $colsStep (param $mode i32) (param $in i32) (param $out i32) (param $ri i32) (param $li i32) (param $oi i32)
    (param $count f32) (param $colsp i32) (param $ncols i32) (param $sumsp i32)
    (local $c i32) (local $sp i32) (local $x i32) (local $sum f32)
    (block $done (br_if $done (i32.eqz (local.get $ncols)))
      (if (i32.eq (local.get $mode) (i32.const 1))
        (then (loop $col
          (local.set $x (i32.load (i32.add (local.get $colsp) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $sp (i32.add (local.get $sumsp) (i32.shl (local.get $c) (i32.const 2))))
          (local.set $sum (f32.add (f32.load (local.get $sp))
            (f32.load (i32.add (local.get $in) (i32.shl (i32.add (local.get $ri) (local.get $x)) (i32.const 2))))))
          (f32.store (local.get $sp) (local.get $sum))
          (f32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $oi) (local.get $x)) (i32.const 2)))
            (f32.div (local.get $sum) (local.get $count)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $col (i32.lt_u (local.get $c) (local.get $ncols))))))
      (if (i32.eq (local.get $mode) (i32.const 2))
        (then (loop $col
          (local.set $x (i32.load (i32.add (local.get $colsp) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $sp (i32.add (local.get $sumsp) (i32.shl (local.get $c) (i32.const 2))))
          (local.set $sum (f32.sub
            (f32.add (f32.load (local.get $sp))
              (f32.load (i32.add (local.get $in) (i32.shl (i32.add (local.get $ri) (local.get $x)) (i32.const 2)))))
            (f32.load (i32.add (local.get $in) (i32.shl (i32.add (local.get $li) (local.get $x)) (i32.const 2))))))
          (f32.store (local.get $sp) (local.get $sum))
          (f32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $oi) (local.get $x)) (i32.const 2)))
            (f32.div (local.get $sum) (local.get $count)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $col (i32.lt_u (local.get $c) (local.get $ncols))))))
      (if (i32.eq (local.get $mode) (i32.const 3))
        (then (loop $col
          (local.set $x (i32.load (i32.add (local.get $colsp) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $sp (i32.add (local.get $sumsp) (i32.shl (local.get $c) (i32.const 2))))
          (local.set $sum (f32.sub (f32.load (local.get $sp))
            (f32.load (i32.add (local.get $in) (i32.shl (i32.add (local.get $li) (local.get $x)) (i32.const 2))))))
          (f32.store (local.get $sp) (local.get $sum))
          (f32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $oi) (local.get $x)) (i32.const 2)))
            (f32.div (local.get $sum) (local.get $count)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $col (i32.lt_u (local.get $c) (local.get $ncols))))))))

  (func (export "boxCols")
    (param $in i32) (param $out i32) (param $w i32) (param $h i32) (param $win i32)
    (param $colsp i32) (param $ncols i32) (param $sumsp i32)
    (local $half i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $ri i32) (local $li i32) (local $oi i32) (local $i i32) (local $count i32)
    (local.set $half (i32.div_s (i32.add (local.get $win) (i32.const 2)) (i32.const 2)))
    (local.set $p1 (i32.sub (local.get $half) (i32.const 1)))
    (local.set $p2 (i32.add (i32.sub (local.get $win) (local.get $half)) (i32.const 1)))
    (local.set $p3 (i32.sub (local.get $h) (local.get $win)))
    ;; fill
    (local.set $i (i32.const 0))
    (block $b1 (loop $l1
      (br_if $b1 (i32.ge_s (local.get $i) (local.get $p1)))
      (call $colsAdd (local.get $in) (local.get $ri) (local.get $colsp) (local.get $ncols) (local.get $sumsp))
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (local.set $ri (i32.add (local.get $ri) (local.get $w)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; grow
    (local.set $i (i32.const 0))
    (block $b2 (loop $l2
      (br_if $b2 (i32.ge_s (local.get $i) (local.get $p2)))
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (call $colsStep (i32.const 1) (local.get $in) (local.get $out) (local.get $ri) (local.get $li) (local.get $oi)
        (f32.convert_i32_s (local.get $count)) (local.get $colsp) (local.get $ncols) (local.get $sumsp))
      (local.set $ri (i32.add (local.get $ri) (local.get $w)))
      (local.set $oi (i32.add (local.get $oi) (local.get $w)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    ;; slide
    (local.set $i (i32.const 0))
    (block $b3 (loop $l3
      (br_if $b3 (i32.ge_s (local.get $i) (local.get $p3)))
      (call $colsStep (i32.const 2) (local.get $in) (local.get $out) (local.get $ri) (local.get $li) (local.get $oi)
        (f32.convert_i32_s (local.get $count)) (local.get $colsp) (local.get $ncols) (local.get $sumsp))
      (local.set $ri (i32.add (local.get $ri) (local.get $w)))
      (local.set $li (i32.add (local.get $li) (local.get $w)))
      (local.set $oi (i32.add (local.get $oi) (local.get $w)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l3)))
    ;; shrink
    (local.set $i (i32.const 0))
    (block $b4 (loop $l4
      (br_if $b4 (i32.ge_s (local.get $i) (local.get $p1)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (call $colsStep (i32.const 3) (local.get $in) (local.get $out) (local.get $ri) (local.get $li) (local.get $oi)
        (f32.convert_i32_s (local.get $count)) (local.get $colsp) (local.get $ncols) (local.get $sumsp))
      (local.set $li (i32.add (local.get $li) (local.get $w)))
      (local.set $oi (i32.add (local.get $oi) (local.get $w)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l4)))
  )
)
