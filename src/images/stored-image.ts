// A stored image as the API shows it (the Image type): where its bytes are and their size. The
// url is signed when the Image is resolved, so it is not kept here.
export interface StoredImage {
  key: string;
  width: number;
  height: number;
  contentType: string;
}
