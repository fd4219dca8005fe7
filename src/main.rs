fn main() {
    println!("crossroot");
}
